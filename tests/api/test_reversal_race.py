"""Issue 14 (R11): concurrent reversals of one settlement over two server processes: one wins, the rest 409."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import httpx
import pytest

from member_api.jobs.demo import DEMO_PASSWORD
from tests.helpers.serverproc import running_server

CONCURRENT = 10


async def _login(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await http.post("/v1/auth/staff/login", json={"username": username, "password": DEMO_PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _ledger(kind: str, url: str) -> tuple[int, int, int]:
    """(reversal rows, sum of fund movements, account used)."""
    sql = (
        "SELECT (SELECT COUNT(*) FROM movement WHERE reverses IS NOT NULL),"
        " (SELECT COALESCE(SUM(fund_fen), 0) FROM movement), (SELECT used_fen FROM benefit_account)"
    )
    if kind == "postgres":
        conn = await asyncpg.connect(url)
        try:
            row = await conn.fetchrow(sql)
        finally:
            await conn.close()
        return row[0], row[1], row[2]
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute(sql).fetchone()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_r11_concurrent_reversals_of_one_settlement_one_wins_the_rest_409(kind, tmp_path):
    async with running_server(kind, tmp_path, workers=2) as server:
        manifest = json.loads((tmp_path / "manifest.json").read_text())
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            clerk = await _login(http, "clerk_zj_dh")
            body = {"visit_date": manifest["today"], "id_number": manifest["members"][0]["id_number"]}
            settled = await http.post(
                "/v1/counter/settlements",
                json={**body, "compliant_fen": 1000},
                headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert settled.status_code == 201, settled.text
            settlement_id = settled.json()["id"]

            async def reverse(i: int) -> httpx.Response:
                return await http.post(
                    f"/v1/counter/settlements/{settlement_id}/reversal",
                    json={"reason": f"entered twice ({i})"},
                    headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
                )

            responses = await asyncio.gather(*(reverse(i) for i in range(CONCURRENT)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * (CONCURRENT - 1), [(r.status_code, r.text[:200]) for r in responses]
        assert all(r.json()["code"] == "already_reversed" for r in responses if r.status_code == 409)
        reversals, fund, used = await _ledger(kind, server.env["MEMBER_API_DATABASE_URL"])
        assert (reversals, fund, used) == (1, 0, 0)
        log = (tmp_path / "server.log").read_text()
        assert "unhandled_error" not in log, log[-3000:]
