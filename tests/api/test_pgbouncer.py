"""Issue 31 item 3: the service behind PgBouncer in transaction mode (asyncpg statement cache off, LISTEN direct).

A PostgreSQL-only file: PgBouncer pools PostgreSQL connections; SQLite has nothing in between. Part of the suite
(settlement, reversal, idempotency, benefits) runs again here with its database reached through PgBouncer, and a
real two-worker server takes concurrent settlements for one member (R4) and pushes the QR screen's event (R8).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from member_api import db
from member_api.settings import Settings
from tests.api.test_benefits import (
    test_pagination_returns_every_row_once_while_rows_arrive,
    test_r4_cap_figures_agree_with_settlements_and_reversals,
)
from tests.api.test_credential_push import _screens_see_their_settlements
from tests.api.test_settlement import (
    test_idempotency_all_four_cases,
    test_r8_credential_is_single_use,
    test_r8_e1_designated_community_centre_by_e_credential,
    test_r11_reversal_restores_the_cap_and_keeps_both_records,
)
from tests.helpers.databases import create_pg_database, drop_pg_database
from tests.helpers.live import login_staff, manifest
from tests.helpers.pgbouncer import running_pgbouncer, show, through
from tests.helpers.serverproc import running_server

REUSED = (
    test_r8_e1_designated_community_centre_by_e_credential,
    test_r8_credential_is_single_use,
    test_idempotency_all_four_cases,
    test_r11_reversal_restores_the_cap_and_keeps_both_records,
    test_r4_cap_figures_agree_with_settlements_and_reversals,
    test_pagination_returns_every_row_once_while_rows_arrive,
)  # collected here too, on the database below


@pytest.fixture(scope="module")
def bouncer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with running_pgbouncer(tmp_path_factory.mktemp("pgbouncer"), pool_size=4) as port:
        yield port


@pytest.fixture(scope="module")
def db_kind() -> str:
    return "postgres"


@pytest_asyncio.fixture(scope="module")
async def database(bouncer: int, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """The suite's ``database`` (conftest), reached through PgBouncer with asyncpg's statement cache off."""
    data_dir = tmp_path_factory.mktemp("data-pgbouncer")
    created = await create_pg_database()
    assert created is not None
    direct, name = created
    url = through(direct, bouncer)
    settings = Settings(
        database_url=url,
        listen_database_url=direct,
        db_statement_cache_size=0,
        data_dir=str(data_dir),
        sms_backend=f"file:{data_dir / 'sms.jsonl'}",
        log_level="WARNING",
    )
    engine = db.make_engine(url, statement_cache_size=0)
    db.activate(engine)
    await db.prepare(engine, pool=False)
    await db.run_migrations()
    try:
        yield {"kind": "postgres", "url": url, "settings": settings, "engine": engine, "data_dir": data_dir}
    finally:
        await db.close(engine)
        await drop_pg_database(name)


def _behind(port: int) -> Any:
    return lambda direct: {
        "MEMBER_API_DATABASE_URL": through(direct, port),
        "MEMBER_API_LISTEN_DATABASE_URL": direct,
        "MEMBER_API_DB_STATEMENT_CACHE_SIZE": "0",
    }


async def test_r4_r8_two_workers_behind_pgbouncer_settle_within_the_cap_and_push_the_screen(bouncer, tmp_path):
    async with running_server("postgres", tmp_path, workers=2, env=_behind(bouncer)) as server:
        url = server.env["MEMBER_API_DATABASE_URL"]
        assert f":{bouncer}/" in url
        world = manifest(server)
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            tokens = await login_staff(http, "clerk_zj_dh")
            clerk = {"Authorization": f"Bearer {tokens['access_token']}"}

            async def settle(_: int) -> int:
                body = {"visit_date": world["today"], "id_number": world["members"][0]["id_number"]}
                response = await http.post(
                    "/v1/counter/settlements",
                    json={**body, "compliant_fen": 1000},
                    headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
                )
                return response.status_code

            statuses = await asyncio.gather(*(settle(i) for i in range(60)))
        # 503 (retry later) is the service's answer when a wait runs out under this load (docs/operations.md
        # "Faults"); what must never happen is a fen over the cap, or money without its movement.
        assert set(statuses) <= {201, 503} and statuses.count(201) >= 10, statuses
        conn = await asyncpg.connect(url, statement_cache_size=0)
        try:
            fund = await conn.fetchval("SELECT SUM(fund_fen) FROM movement")
            used = await conn.fetchval("SELECT SUM(used_fen) FROM benefit_account")
        finally:
            await conn.close()
        settled = statuses.count(201)
        assert fund == used == min(30000, 700 * settled)  # R4: 7.00 each up to the 300.00 cap, never a fen more
        await _screens_see_their_settlements(server)
        name = url.rsplit("/", 1)[1]
        stats = {row["database"]: row for row in await asyncio.to_thread(show, bouncer, "STATS")}
        assert int(stats[name]["total_xact_count"]) > 100  # the service's transactions went through PgBouncer
