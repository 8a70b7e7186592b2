"""Talking to a real server process (``serverproc.running_server``) as different clients, and peeking at its DB."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx

from member_api.jobs.demo import DEMO_PASSWORD
from tests.helpers.serverproc import Server


def manifest(server: Server) -> dict[str, Any]:
    return json.loads((server.data_dir / "manifest.json").read_text())


def member(server: Server, insurance_no: str) -> dict[str, Any]:
    return next(m for m in manifest(server)["members"] if m["insurance_no"] == insurance_no)


@asynccontextmanager
async def client_from(server: Server, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose connections come from ``address`` (any 127.x.y.z is this machine's loopback)."""
    transport = httpx.AsyncHTTPTransport(local_address=address, limits=httpx.Limits(max_connections=64))
    async with httpx.AsyncClient(base_url=server.url, timeout=60, transport=transport) as http:
        yield http


def last_code(server: Server, phone: str) -> str:
    lines = [json.loads(line) for line in (server.data_dir / "sms.jsonl").read_text().splitlines()]
    return next(m["code"] for m in reversed(lines) if m["phone"] == phone)


async def login_resident(http: httpx.AsyncClient, server: Server, phone: str) -> dict[str, Any]:
    sent = await http.post("/v1/auth/otp", json={"phone": phone})
    assert sent.status_code == 202, sent.text
    response = await http.post("/v1/auth/login", json={"phone": phone, "code": last_code(server, phone)})
    assert response.status_code == 200, response.text
    return response.json()


async def login_staff(http: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> dict[str, Any]:
    response = await http.post("/v1/auth/staff/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def db_rows(server: Server, sql: str, *args: object) -> list[dict[str, Any]]:
    """Read the server's database directly (``$1``-style placeholders; rewritten to ``?`` for SQLite)."""
    url = server.env["MEMBER_API_DATABASE_URL"]
    if url.startswith("postgresql"):
        conn = await asyncpg.connect(url)
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()
    import re

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(re.sub(r"\$\d+", "?", sql), args).fetchall()]


async def web_login(http: httpx.AsyncClient, server: Server, insurance_no: str) -> None:
    """Sign a resident in to the H5 pages (/app) and bind their record; ``http`` keeps the session cookie."""
    import re

    entry = member(server, insurance_no)

    async def form(path: str, page: str, data: dict[str, str]) -> httpx.Response:
        html = (await http.get(page)).text
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
        assert token, f"{page} without a CSRF token"
        return await http.post(path, data={**data, "_csrf_token": token.group(1)}, follow_redirects=False)

    sent = await form("/app/login/code", "/app/login", {"phone": entry["phone"]})
    assert sent.status_code == 200, sent.text
    done = await form("/app/login", "/app/login", {"phone": entry["phone"], "code": last_code(server, entry["phone"])})
    assert done.status_code == 303, done.text
    bound = await form("/app/bind", "/app/bind", {"id_number": entry["id_number"], "name": entry["name"]})
    assert bound.status_code == 303, bound.text
