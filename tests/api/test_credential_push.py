"""Issue 31 item 1 (R8): the e-credential screen learns of the counter's settlement pushed, on a real server with two
worker processes: PostgreSQL by LISTEN/NOTIFY (one listener per worker, which reconnects and catches up), SQLite by
one poll per worker; whichever worker settled and whichever holds the screen's stream."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers.live import client_from, login_staff, web_login
from tests.helpers.serverproc import Server, running_server

SCREENS = 6  # streams on separate connections: the two workers both hold some
USED_WITHIN_S = 15.0


async def _screen(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get("/app/credential/code")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _first_event(http: httpx.AsyncClient, jti: str, opened: asyncio.Event) -> tuple[str, dict[str, Any]]:
    """The stream's first event (name, data), skipping keep-alive comments."""
    event = ""
    async with http.stream("GET", "/app/credential/events", params={"jti": jti}) as response:
        assert response.status_code == 200
        opened.set()
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event:
                return event, json.loads(line.split(":", 1)[1])
    raise AssertionError("stream ended without an event")


async def _settle(http: httpx.AsyncClient, clerk: dict[str, str], token: str, today: str) -> dict[str, Any]:
    body = {"visit_date": today, "credential": token, "compliant_fen": 1000}
    response = await http.post(
        "/v1/counter/settlements", json=body, headers={**clerk, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _screens_see_their_settlements(server: Server, before_settling: Any = None) -> None:
    manifest = json.loads((server.data_dir / "manifest.json").read_text())
    async with client_from(server) as resident, client_from(server) as counter:
        await web_login(resident, server, "SG0000000001")
        clerk_tokens = await login_staff(counter, "clerk_zj_dh")
        clerk = {"Authorization": f"Bearer {clerk_tokens['access_token']}"}
        codes = [await _screen(resident) for _ in range(SCREENS)]
        # One connection per stream (a fresh client each, sharing the session cookie), so both workers hold some.
        streams = []
        clients = [httpx.AsyncClient(base_url=server.url, timeout=60, cookies=resident.cookies) for _ in codes]
        try:
            opened = [asyncio.Event() for _ in codes]
            streams = [
                asyncio.create_task(_first_event(c, code["jti"], o))
                for c, code, o in zip(clients, codes, opened, strict=True)
            ]
            await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 30)
            if before_settling is not None:
                await before_settling()
            settled = [await _settle(counter, clerk, code["token"], manifest["today"]) for code in codes]
            events = await asyncio.wait_for(asyncio.gather(*streams), USED_WITHIN_S)
        finally:
            for task in streams:
                task.cancel()
            for c in clients:
                await c.aclose()
    for (name, data), code, result in zip(events, codes, settled, strict=True):
        assert name == "used"
        assert data["jti"] == code["jti"]
        assert data["id"] == result["id"]
        assert data["fund"] == f"{result['fund_fen'] / 100:.2f}"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_r8_the_screen_turns_used_when_any_worker_settles_its_code(kind, tmp_path):
    async with running_server(kind, tmp_path, workers=2) as server:
        await _screens_see_their_settlements(server)


async def _listeners(url: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'member-api-listen'"
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


async def _until(condition: Any, within_s: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        value = await condition()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.1)


async def test_r8_listeners_cut_off_reconnect_and_catch_up(tmp_path):
    """Each worker holds one LISTEN connection; when the database drops them, settlements made meanwhile still
    reach the screens (the listener reconnects and checks the waiting codes once)."""
    async with running_server("postgres", tmp_path, workers=2) as server:
        url = server.env["MEMBER_API_DATABASE_URL"]
        before = await _until(lambda: _listeners_if(url, 2))
        assert len(before) == 2  # one per worker, not one per screen

        async def cut_off() -> None:
            conn = await asyncpg.connect(url)
            try:
                await conn.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", before)
            finally:
                await conn.close()

        await _screens_see_their_settlements(server, before_settling=cut_off)
        after = await _until(lambda: _listeners_if(url, 2))
        assert not set(after) & set(before)


async def _listeners_if(url: str, count: int) -> list[int] | None:
    pids = await _listeners(url)
    return pids if len(pids) == count else None
