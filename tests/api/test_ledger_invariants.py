"""Issue 26 item 9: the ledger's invariants live in the database too, on both engines (R11: a movement is never
changed; a mistake is undone by a reversal). CHECK constraints (triggers on SQLite) refuse impossible amounts,
movement rows refuse UPDATE and DELETE, and ``member-api ledger-check`` exits non-zero when an account does not
equal the sum of its movements."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from member_api.db import fetch
from member_api.ledger import service as ledger
from tests.helpers import member_entry, staff_headers

CLI = Path(sys.executable).parent / "member-api"


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def _settled(client) -> tuple[dict[str, str], dict]:
    clerk = await staff_headers(client, "clerk_zj_dh")
    body = {"visit_date": "2026-11-24", "id_number": member_entry(client, "SG0000000001")["id_number"]}
    done = await client.post(
        "/v1/counter/settlements", json={**body, "compliant_fen": 4000}, headers={**clerk, **key()}
    )
    assert done.status_code == 201, done.text
    return clerk, done.json()


async def test_r11_movement_rows_refuse_update_and_delete_and_a_reversal_still_undoes_one(client):
    clerk, done = await _settled(client)
    for statement in ("UPDATE movement SET fund_fen = 0 WHERE id = {}", "DELETE FROM movement WHERE id = {}"):
        with pytest.raises(Exception, match="immutable"):
            await fetch(statement, done["id"])
    rows = await fetch("SELECT fund_fen FROM movement WHERE id = {}", done["id"])
    assert [r["fund_fen"] for r in rows] == [done["fund_fen"]]
    reversed_ = await client.post(
        f"/v1/counter/settlements/{done['id']}/reversal", json={"reason": "录入错误"}, headers={**clerk, **key()}
    )
    assert reversed_.status_code == 201, reversed_.text
    report = await ledger.check()
    assert report["account_mismatches"] == [] and report["reversal_mismatches"] == []
    assert report["movements"] == 2


async def test_impossible_amounts_are_refused_by_the_database(client):
    _, done = await _settled(client)
    with pytest.raises(Exception, match="benefit_account_amounts"):
        await fetch("UPDATE benefit_account SET used_fen = -1 WHERE member = {}", done["member_id"])
    with pytest.raises(Exception, match="movement_amounts"):
        await fetch(
            "INSERT INTO movement (member, facility, kind, year, visit_date, general_fee_fen, compliant_fen,"
            " non_compliant_fen, emergency, out_of_city, fund_fen, member_fen, lines, reasons, repeat_same_day,"
            " reason_text, created_at, itemised) SELECT member, facility, 'counter', year, visit_date, 0, 0, 0,"
            " emergency, out_of_city, -500, 0, '[]', '[]', repeat_same_day, '', created_at, itemised"
            " FROM movement WHERE id = {}",
            done["id"],
        )


async def test_ledger_check_exits_non_zero_when_an_account_is_not_the_sum_of_its_movements(client):
    _, done = await _settled(client)
    env = {
        **os.environ,
        "MEMBER_API_DATABASE_URL": client.settings.resolved_database_url,
        "MEMBER_API_DATA_DIR": client.settings.data_dir,
    }
    ok = await asyncio.to_thread(subprocess.run, [str(CLI), "ledger-check"], env=env, capture_output=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    await fetch("UPDATE benefit_account SET used_fen = used_fen + 1 WHERE member = {}", done["member_id"])
    bad = await asyncio.to_thread(subprocess.run, [str(CLI), "ledger-check"], env=env, capture_output=True, timeout=120)
    assert bad.returncode == 1 and b"MISMATCH" in bad.stderr
    assert str(done["member_id"]).encode() in bad.stdout
