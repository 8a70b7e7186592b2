"""Issue 31 item 1: open e-credential screens on ONE server worker (PostgreSQL), each with its event stream reopened
when it ends (as the browser does); settle a sample of their codes one by one and time the ``used`` event from the
clerk's request to the screen; count the database's transactions per second while the screens wait, less the same
server's rate with no screen open.

    .venv/bin/python -m benchmarks.qr_events [--screens 2000] [--sample 100] [--window 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from benchmarks.common import machine
from tests.helpers.live import login_staff, web_login
from tests.helpers.serverproc import Server, running_server

RESIDENTS = ("SG0000000001", "SG0000000002", "SG0000000003", "SG0000000004")
SETTLED = "SG0000000001"  # designated at clerk_zj_dh's institution: the sample is this resident's codes


async def transactions(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
            )
        )
    finally:
        await conn.close()


async def rate(url: str, seconds: float) -> float:
    """Transactions per second of the server's database over ``seconds`` (PostgreSQL flushes counts each second)."""
    await asyncio.sleep(1.5)
    start = await transactions(url)
    await asyncio.sleep(seconds)
    return (await transactions(url) - start - 1) / seconds  # the measuring connection's own first read


class Screen:
    def __init__(self, http: httpx.AsyncClient, code: dict[str, Any]) -> None:
        self.http, self.jti, self.token = http, code["jti"], code["token"]
        self.opened = asyncio.Event()
        self.used_at: float | None = None
        self.used = asyncio.Event()
        self.dropped = 0

    async def run(self) -> None:
        """Listen until ``used``; reopen after ``idle`` (the stream's end) or a dropped connection, as the page's
        script does."""
        while self.used_at is None:
            event = ""
            try:
                async with self.http.stream("GET", "/app/credential/events", params={"jti": self.jti}) as response:
                    self.opened.set()
                    async for line in response.aiter_lines():
                        if line.startswith("event:"):
                            event = line.split(":", 1)[1].strip()
                        elif line.startswith("data:") and event == "used":
                            self.used_at = time.perf_counter()
                            self.used.set()
                            return
            except httpx.TransportError:
                self.dropped += 1
                await asyncio.sleep(2.0)


async def main(screens: int, sample: int, window: float) -> None:
    limits = httpx.Limits(max_connections=screens + 50, max_keepalive_connections=screens + 50)
    env = {
        "MEMBER_API_CREDENTIAL_TTL_S": "3600",  # the codes stay scannable for the whole run
        "MEMBER_API_OTP_PER_CLIENT_PER_HOUR": "1000",
    }
    with tempfile.TemporaryDirectory() as tmp:
        async with running_server("postgres", Path(tmp), workers=1, env=lambda _url: env) as server:
            url = server.env["MEMBER_API_DATABASE_URL"]
            manifest = json.loads((Path(tmp) / "manifest.json").read_text())
            idle_rate = await rate(url, window)
            clients = {no: httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) for no in RESIDENTS}
            try:
                await run(server, manifest, clients, screens, sample, window, idle_rate, url)
            finally:
                for c in clients.values():
                    await c.aclose()


async def run(
    server: Server,
    manifest: dict[str, Any],
    clients: dict[str, httpx.AsyncClient],
    screens: int,
    sample: int,
    window: float,
    idle_rate: float,
    url: str,
) -> None:
    for no, http in clients.items():
        await web_login(http, server, no)
    per = -(-screens // len(clients))
    shown: list[Screen] = []
    gate = asyncio.Semaphore(16)

    async def code_for(http: httpx.AsyncClient) -> Screen:
        async with gate:
            return Screen(http, (await http.get("/app/credential/code")).json())

    wanted = [http for http in clients.values() for _ in range(per)][:screens]
    shown.extend(await asyncio.gather(*(code_for(http) for http in wanted)))
    tasks = [asyncio.create_task(s.run()) for s in shown]
    await asyncio.wait_for(asyncio.gather(*(s.opened.wait() for s in shown)), 300)
    open_rate = await rate(url, window)
    counter = httpx.AsyncClient(base_url=server.url, timeout=60)
    clerk = await login_staff(counter, "clerk_zj_dh")
    headers = {"Authorization": f"Bearer {clerk['access_token']}"}
    mine = [s for s in shown if s.http is clients[SETTLED]][:sample]
    latencies = []
    for s in mine:
        sent = time.perf_counter()
        response = await counter.post(
            "/v1/counter/settlements",
            json={"visit_date": manifest["today"], "credential": s.token, "compliant_fen": 100},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 201, response.text
        try:
            await asyncio.wait_for(s.used.wait(), 30)
        except TimeoutError:  # a screen that never hears of its settlement fails the run
            log = (server.data_dir / "server.log").read_text()[-3000:]
            dropped = sum(x.dropped for x in shown)
            raise SystemExit(f"screen {s.jti} never heard of its settlement; {dropped} drops; log:\n{log}") from None
        assert s.used_at is not None
        latencies.append((s.used_at - sent) * 1000)
    await counter.aclose()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"machine: {machine()}; one server worker; {len(shown)} screens of {len(clients)} residents")
    print(f"database transactions/s: no screen open {idle_rate:.2f}, {len(shown)} screens open {open_rate:.2f}")
    print(
        f"qr events: screens {len(shown)}, notify p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"database statements per second from open screens {max(0.0, open_rate - idle_rate):.2f}"
    )
    print(f"(notify: from the clerk's settlement request to the screen's `used` event, {len(latencies)} settlements)")
    dropped = sum(s.dropped for s in shown)
    if dropped:
        print(f"streams dropped and reopened: {dropped}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--screens", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--window", type=float, default=20.0, help="seconds each transaction rate is measured")
    a = parser.parse_args()
    asyncio.run(main(a.screens, a.sample, a.window))
