"""Migrations keep data: the ledger's ``settlement`` table becomes ``movement`` with every row (issue 27)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from piccolo.apps.migrations.commands.backwards import run_backwards
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration

from member_api import db
from tests.helpers.databases import create_pg_database, drop_pg_database

BEFORE_RENAME = "2026-11-25T12:55:47:986314"
RENAME = "2026-12-04T15:55:00:000000"
ROW = (
    "INSERT INTO {table} (member, facility, kind, year, visit_date, general_fee_fen, compliant_fen, non_compliant_fen,"
    " emergency, out_of_city, fund_fen, member_fen, lines, reasons, repeat_same_day, credential_jti, reason_text,"
    " created_at) VALUES (1, 1, 'counter', 2026, '2026-11-24', 0, 10000, 0, false, false, {fund}, 5000, '[]', '[]',"
    " false, {jti}, '', '2026-11-24T02:00:00+00:00')"
)


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables, piccolo pointed at it (the session's engine is put back afterwards)."""
    previous = db.current_engine()
    pg_name = None
    if request.param == "postgres":
        created = await create_pg_database()
        assert created is not None
        url, pg_name = created
    else:
        url = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    engine = db.make_engine(url)
    db.activate(engine)
    try:
        yield request.param
    finally:
        db.activate(previous)
        if pg_name:
            await drop_pg_database(pg_name)


async def _index_names(kind: str, table: str) -> set[str]:
    if kind == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = {} AND sql IS NOT NULL"
    else:
        sql = "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename = {}"
    return {row["name"] for row in await Migration.raw(sql, table).run()}


async def test_movement_rename_keeps_every_row_and_renames_its_indexes_both_ways(empty_database: str) -> None:
    assert (await run_forwards(app_name="member_api", migration_id=BEFORE_RENAME)).success
    await Migration.raw(
        "INSERT INTO facility (code, name, kind, tier, division, address, lat, lng, in_city, active, parent)"
        " VALUES ('F1', 'Clinic', 'village_station', 'primary', '370000', '', 0, 0, true, true, null)"
    ).run()
    await Migration.raw(
        "INSERT INTO member (insurance_no, name, id_hash, id_masked, birth_date, sex, division, phone_masked,"
        " credential_subject) VALUES ('N1', 'M', 'h', 'm', '1980-01-01', 'F', '370000', '', 's')"
    ).run()
    for fund, jti in ((5000, "'a'"), (-5000, "null")):
        await Migration.raw(ROW.format(table="settlement", fund=fund, jti=jti)).run()

    assert (await run_forwards(app_name="member_api", migration_id=RENAME)).success
    rows = await Migration.raw("SELECT id, fund_fen, credential_jti FROM movement ORDER BY id").run()
    assert [(r["fund_fen"], r["credential_jti"]) for r in rows] == [(5000, "a"), (-5000, None)]
    names = await _index_names(empty_database, "movement")
    assert {"movement_facility", "movement_member_year_id", "movement_day_facility_ix"} <= names
    assert not any(n.startswith("settlement") for n in names)
    await Migration.raw(ROW.format(table="movement", fund=1, jti="'b'")).run()  # the id sequence goes on
    assert [r["id"] for r in await Migration.raw("SELECT id FROM movement ORDER BY id").run()] == [1, 2, 3]

    assert (await run_backwards(app_name="member_api", migration_id=RENAME, auto_agree=True)).success
    assert len(await Migration.raw("SELECT id FROM settlement").run()) == 3
    assert "settlement_facility" in await _index_names(empty_database, "settlement")
