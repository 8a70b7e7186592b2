"""Issue 7 (R4): concurrent settlements for one member over two server processes never exceed a cap."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import httpx
import pytest

from member_api.jobs.demo import DEMO_PASSWORD
from tests.helpers.serverproc import running_server

REQUESTS = 240


async def _login(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await http.post("/v1/auth/staff/login", json={"username": username, "password": DEMO_PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _totals(kind: str, url: str) -> tuple[int, int, int, int]:
    """(sum of fund movements, sum of out-of-city ones, account used, account used out of city)."""
    if kind == "postgres":
        conn = await asyncpg.connect(url)
        try:
            s = await conn.fetchrow(
                "SELECT COALESCE(SUM(fund_fen),0) a, "
                "COALESCE(SUM(fund_fen) FILTER (WHERE out_of_city),0) b FROM movement"
            )
            acc = await conn.fetchrow("SELECT used_fen, used_out_of_city_fen FROM benefit_account")
        finally:
            await conn.close()
        return s["a"], s["b"], acc["used_fen"], acc["used_out_of_city_fen"]
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        a, b = conn.execute(
            "SELECT COALESCE(SUM(fund_fen),0), COALESCE(SUM(CASE WHEN out_of_city THEN fund_fen END),0) FROM movement"
        ).fetchone()
        used, used_ooc = conn.execute("SELECT used_fen, used_out_of_city_fen FROM benefit_account").fetchone()
    return a, b, used, used_ooc


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_r4_concurrent_settlements_over_two_processes_never_exceed_the_caps(kind, tmp_path):
    async with running_server(kind, tmp_path, workers=2) as server:
        manifest = json.loads((tmp_path / "manifest.json").read_text())
        id_number = manifest["members"][0]["id_number"]
        await asyncio.to_thread(
            server.cli,
            "create-staff",
            "--role",
            "clerk",
            "--username",
            "clerk_out_of_city",
            "--facility",
            manifest["facilities"]["out_of_city"],
            stdin=DEMO_PASSWORD + "\n",
        )
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as http:
            home, away = await _login(http, "clerk_zj_dh"), await _login(http, "clerk_out_of_city")

            async def one(i: int) -> int:
                out_of_city = i % 3 == 0
                body = {
                    "visit_date": manifest["today"],
                    "id_number": id_number,
                    "compliant_fen": 1000,
                    "emergency": out_of_city,
                }
                headers = {**(away if out_of_city else home), "Idempotency-Key": str(uuid.uuid4())}
                while True:  # as a terminal does: a 503 (the member's waits are bounded) is retried with the key
                    response = await http.post("/v1/counter/settlements", json=body, headers=headers)
                    if response.status_code not in (409, 503) or "retry-after" not in response.headers:
                        return response.status_code
                    await asyncio.sleep(min(float(response.headers["retry-after"]), 0.5))

            statuses = await asyncio.gather(*(one(i) for i in range(REQUESTS)))
        assert all(s == 201 for s in statuses), sorted(set(statuses))
        fund, fund_ooc, used, used_ooc = await _totals(kind, server.env["MEMBER_API_DATABASE_URL"])
        assert fund == used == 30000  # 240 × 7.00 asked for; the 300.00 cap paid exactly, not a fen more
        assert fund_ooc == used_ooc == 6000
