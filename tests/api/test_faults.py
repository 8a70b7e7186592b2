"""Issue 26: faults against real server processes. The database goes away, stalls, runs out of connections, a
member's account row stays locked, the disk fills up, a worker is SIGKILLed, the server is told to stop.

Each answer is one a counter or a phone can act on (503 ``service_unavailable`` with Retry-After, 507
``storage_full``), every wait is bounded, nothing is lost or done twice, and the money invariant holds after each:
every acknowledged settlement is one row, and every account equals the sum of its movements.

PostgreSQL faults are played by a TCP proxy between the server and the shared cluster (tests/helpers/tcpproxy.py),
which is never restarted. Timing assertions carry wide margins (the machine is shared) and wait for conditions.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from member_api import db
from member_api.core.errors import fault_problem
from member_api.core.storage import StorageFull
from member_api.jobs.demo import DEMO_PASSWORD
from tests.helpers.serverproc import Server, running_server
from tests.helpers.tcpproxy import TcpProxy
from tests.helpers.web import csrf_of

PG_TIMEOUTS = {
    "MEMBER_API_DB_LOCK_TIMEOUT_S": "2",
    "MEMBER_API_DB_ACQUIRE_TIMEOUT_S": "2",
    "MEMBER_API_DB_STATEMENT_TIMEOUT_S": "3",
    "MEMBER_API_DB_CONNECT_TIMEOUT_S": "2",
}


# keys whose recorded answer is a counter settlement (not the referral or claims of the same test)
DONE_SETTLEMENT_KEYS = (
    "SELECT count(*) FROM idempotency_record WHERE state = 'done' AND body LIKE '%\"kind\":\"counter\"%'"
)


class Counter:
    """A clinic's terminal: settles by ID number and keeps what was acknowledged."""

    def __init__(self, server: Server, http: httpx.AsyncClient, clerk: dict[str, str]) -> None:
        manifest = json.loads((server.data_dir / "manifest.json").read_text())
        self.server, self.http, self.clerk = server, http, clerk
        self.today = manifest["today"]
        self.members = [m for m in manifest["members"] if m["paid_up_this_year"] and m["id_number"]]
        self.acknowledged: set[int] = set()

    @classmethod
    async def open(cls, server: Server, http: httpx.AsyncClient) -> Counter:
        login = await http.post("/v1/auth/staff/login", json={"username": "clerk_zj_dh", "password": DEMO_PASSWORD})
        assert login.status_code == 200, login.text
        return cls(server, http, {"Authorization": f"Bearer {login.json()['access_token']}"})

    async def settle(self, member: dict[str, Any], key: str | None = None, fen: int = 300) -> httpx.Response:
        response = await self.http.post(
            "/v1/counter/settlements",
            json={"visit_date": self.today, "id_number": member["id_number"], "compliant_fen": fen},
            headers={**self.clerk, "Idempotency-Key": key or str(uuid.uuid4())},
        )
        if response.status_code == 201:
            self.acknowledged.add(response.json()["id"])
        return response

    async def settle_until_done(self, member: dict[str, Any], key: str, within_s: float) -> httpx.Response:
        """Retry the same key as a terminal would, honouring Retry-After (capped), until it is answered 201."""
        deadline = time.monotonic() + within_s
        while True:
            response = await self.settle(member, key)
            if response.status_code == 201 or time.monotonic() > deadline:
                return response
            assert response.status_code in (409, 503), response.text
            assert response.headers["retry-after"].isdigit()
            await asyncio.sleep(min(int(response.headers["retry-after"]), 1))


METRICS_TOKEN = "fault-suite-metrics"


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "service_unavailable" and body["message_zh"] == "系统繁忙，请稍后重试"
    assert int(response.headers["retry-after"]) >= 1


async def money_invariant(server: Server, acknowledged: set[int]) -> None:
    """Acknowledged settlements = rows (each once); every account = the sum of its movements."""
    url = server.env["MEMBER_API_DATABASE_URL"]
    accounts_sql = (
        "SELECT a.member, a.year, a.used_fen, COALESCE(SUM(m.fund_fen), 0) AS moved FROM benefit_account a"
        " LEFT JOIN movement m ON m.member = a.member AND m.year = a.year GROUP BY a.id, a.member, a.year, a.used_fen"
    )
    if url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(url.split("sqlite:///", 1)[1])) as conn:
            ids = {r[0] for r in conn.execute("SELECT id FROM movement")}
            names = ("member", "year", "used_fen", "moved")
            accounts = [dict(zip(names, r, strict=True)) for r in conn.execute(accounts_sql)]
            keys_done = conn.execute(DONE_SETTLEMENT_KEYS).fetchone()[0]
            counter_rows = conn.execute("SELECT count(*) FROM movement WHERE kind = 'counter'").fetchone()[0]
    else:
        conn = await asyncpg.connect(url)
        try:
            ids = {r["id"] for r in await conn.fetch("SELECT id FROM movement")}
            accounts = [dict(r) for r in await conn.fetch(accounts_sql)]
            keys_done = await conn.fetchval(DONE_SETTLEMENT_KEYS)
            counter_rows = await conn.fetchval("SELECT count(*) FROM movement WHERE kind = 'counter'")
        finally:
            await conn.close()
    assert acknowledged <= ids
    assert counter_rows == keys_done  # each settled key is one row, however often it was retried
    for account in accounts:
        assert account["used_fen"] == account["moved"], account


# ---- what is database trouble ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
        db.PoolExhausted("no database connection came free in time"),
        db.DatabaseBusy("account:1:2026"),
        TimeoutError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_database_trouble_is_503_service_unavailable(exc: BaseException) -> None:
    wrapped = RuntimeError("a library's wrapper")
    wrapped.__cause__ = exc
    for raised in (exc, wrapped, sqlite3.OperationalError("database is locked")):
        problem = fault_problem(raised)
        assert problem is not None and (problem.status, problem.code) == (503, "service_unavailable")
        assert problem.headers and problem.headers["Retry-After"].isdigit() and problem.message_zh


def test_other_failures_are_not_mistaken_for_database_trouble() -> None:
    assert fault_problem(ValueError("a bug")) is None
    assert fault_problem(asyncpg.exceptions.UniqueViolationError("duplicate key")) is None


def test_no_space_is_507_storage_full() -> None:
    problem = fault_problem(StorageFull(errno.ENOSPC, "no space left for the file"))
    assert problem is not None and (problem.status, problem.code) == (507, "storage_full")


# ---- PostgreSQL behind a proxy ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def proxied(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Server, TcpProxy]]:
    proxy = await TcpProxy("127.0.0.1", 5432).start()
    tmp = tmp_path_factory.mktemp("faults_pg")
    try:
        async with running_server("postgres", tmp, workers=2, serve_env=PG_TIMEOUTS, route_database=proxy.url) as srv:
            yield srv, proxy
    finally:
        await proxy.close()


@pytest.fixture
async def counter(proxied: tuple[Server, TcpProxy]) -> AsyncIterator[Counter]:
    server, proxy = proxied
    proxy.normal()
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        counter = await Counter.open(server, http)
        yield counter
    proxy.normal()
    await money_invariant(server, counter.acknowledged)


async def test_database_down_answers_503_and_the_same_key_settles_once_when_it_is_back(proxied, counter):
    """A restart seen from the service: every connection reset, new ones refused. 503 (never 500) while it lasts;
    the retried key goes through as soon as the database is back (no minute of 409s), once."""
    _, proxy = proxied
    member = counter.members[0]
    assert (await counter.settle(member)).status_code == 201
    proxy.refuse()
    proxy.cut()
    key = str(uuid.uuid4())
    for _ in range(3):
        started = time.monotonic()
        assert_unavailable(await counter.settle(member, key))
        assert time.monotonic() - started < 10
    # the pages say it in words: a friendly page, status 503
    form = await counter.http.get("/console/login")
    token = csrf_of(form.text) if form.status_code == 200 else ""
    page = (
        form
        if form.status_code != 200
        else await counter.http.post(
            "/console/login", data={"username": "clerk_zj_dh", "password": "x" * 12, "_csrf_token": token}
        )
    )
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html"), page.text[:300]
    assert "系统繁忙，请稍后重试" in page.text and "Traceback" not in page.text
    proxy.normal()
    back = time.monotonic()
    done = await counter.settle_until_done(member, key, within_s=30)
    assert done.status_code == 201, done.text
    assert time.monotonic() - back < 20  # the key was released (or its lease ran out), not stuck for a minute
    replay = await counter.settle(member, key)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == done.json()["id"]


async def test_connections_broken_while_idle_are_replaced_without_an_error(proxied, counter):
    """Pooled connections a restart broke are discarded (and the first statement retried once): no answer fails."""
    _, proxy = proxied
    for member in counter.members[:3]:
        assert (await counter.settle(member)).status_code == 201
    proxy.cut()
    answers = [(await counter.settle(member)).status_code for member in counter.members[:6]]
    assert answers == [201] * 6, answers


async def test_a_stalled_database_answers_503_within_the_statement_bound(proxied, counter):
    """A hung network never holds a counter: the client's own limit (statement timeout + 2 s) answers 503."""
    _, proxy = proxied
    member = counter.members[1]
    assert (await counter.settle(member)).status_code == 201
    proxy.stall()
    key = str(uuid.uuid4())
    started = time.monotonic()
    assert_unavailable(await counter.settle(member, key))
    assert time.monotonic() - started < 20  # 3 s statement + 2 s + the release's bound, with margin
    proxy.normal()
    done = await counter.settle_until_done(member, key, within_s=30)
    assert done.status_code == 201, done.text


async def test_too_many_connections_is_503(proxied, counter):
    """PostgreSQL's "sorry, too many clients already" (53300) at connect is 503, not 500."""
    _, proxy = proxied
    member = counter.members[2]
    proxy.refuse_with_too_many_clients = True
    try:
        proxy.cut()
        key = str(uuid.uuid4())
        assert_unavailable(await counter.settle(member, key))
    finally:
        proxy.refuse_with_too_many_clients = False
    done = await counter.settle_until_done(member, key, within_s=30)
    assert done.status_code == 201, done.text


async def test_a_locked_account_bounds_its_own_waits_and_never_stalls_other_members(proxied, counter):
    """One member's account row locked elsewhere for longer than any request may wait: that member's settlements
    answer 503 within the lock timeout (2 s; a few refused at once by the per-account gate) and never take every
    pooled connection; the other members' settlements go through meanwhile at normal speed."""
    server, _ = proxied
    stuck, others = counter.members[3], counter.members[4:8]
    first = await counter.settle(stuck)
    assert first.status_code == 201, first.text
    holder = await asyncpg.connect(server.env["MEMBER_API_DATABASE_URL"])
    try:
        lock = holder.transaction()
        await lock.start()
        await holder.execute(
            "SELECT id FROM benefit_account WHERE member = $1 AND year = $2 FOR UPDATE",
            first.json()["member_id"],
            first.json()["year"],
        )

        async def timed(member: dict[str, Any]) -> tuple[float, httpx.Response]:
            started = time.monotonic()
            response = await counter.settle(member)
            return time.monotonic() - started, response

        blocked = [asyncio.create_task(timed(stuck)) for _ in range(24)]
        await _until_waiting_on_locks(holder)  # the burst is in: now the others come to the counter
        meanwhile = [await timed(others[i % len(others)]) for i in range(8)]
        stuck_answers = await asyncio.gather(*blocked)
        await lock.rollback()
    finally:
        await holder.close()
    for elapsed, response in stuck_answers:
        assert_unavailable(response)
        assert elapsed < 8, elapsed  # lock timeout 2 s (+ gate queue), generous for a loaded machine
    assert [r.status_code for _, r in meanwhile] == [201] * 8, [r.text for _, r in meanwhile]
    assert max(e for e, _ in meanwhile) < 3, [round(e, 2) for e, _ in meanwhile]
    assert (await counter.settle(stuck)).status_code == 201  # and the member settles once the lock is gone


# ---- SQLite: a locked database, a full disk -----------------------------------------------------------------------


def _noise_png(seed: int, side: int = 260) -> bytes:
    """An incompressible PNG of about side*side*3 bytes."""
    import io

    from PIL import Image

    image = Image.frombytes("RGB", (side, side), hashlib.shake_256(str(seed).encode()).digest(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=0)
    return out.getvalue()


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


async def test_sqlite_full_disk_is_507_nothing_half_stored_and_a_locked_database_is_503(tmp_path):
    """Blobs and metrics on a 1 MiB filesystem: uploads fill it, the next one answers 507 storage_full with nothing
    stored, every stored file reads back as its hash, and the workers keep serving. A write lock held elsewhere
    longer than the busy timeout is 503 (SQLite's "database is locked"), not 500."""
    small, metrics = tmp_path / "small", tmp_path / "metrics"
    if os.geteuid() != 0 or not _mount_tmpfs(small, "1m") or not _mount_tmpfs(metrics, "1m"):
        pytest.skip("needs root to mount a small tmpfs (core/storage.py's injected-writer unit tests cover ENOSPC)")
    try:
        (small / "blobs").mkdir()
        (tmp_path / "blobs").symlink_to(small / "blobs")
        # a worker's metric files want 1 MiB each: this disk is full from the start
        env = {"MEMBER_API_DB_BUSY_TIMEOUT_S": "1", "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        async with running_server("sqlite", tmp_path, workers=2, serve_env=env) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                counter = await Counter.open(server, http)
                await _full_disk(server, http, counter.clerk)
                member = counter.members[0]
                assert (await counter.settle(member)).status_code == 201
                with contextlib.closing(sqlite3.connect(server.env["MEMBER_API_DATABASE_URL"][10:])) as db:
                    db.execute("BEGIN IMMEDIATE")
                    started = time.monotonic()
                    locked = await counter.settle(member)
                    db.rollback()
                assert_unavailable(locked)
                assert time.monotonic() - started < 10
                assert (await counter.settle(member)).status_code == 201
                await money_invariant(server, counter.acknowledged)
    finally:
        for mounted in (small, metrics):
            await asyncio.to_thread(subprocess.run, ["umount", "-l", str(mounted)], check=False)


async def _full_disk(server: Server, http: httpx.AsyncClient, clerk: dict[str, str]) -> None:
    manifest = json.loads((server.data_dir / "manifest.json").read_text())
    member = next(m for m in manifest["members"] if m["paid_up_this_year"] and m["phone"])
    assert (await http.post("/v1/auth/otp", json={"phone": member["phone"]})).status_code == 202
    code = json.loads((server.data_dir / "sms.jsonl").read_text().splitlines()[-1])["code"]
    login = await http.post("/v1/auth/login", json={"phone": member["phone"], "code": code})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    bound = await http.post(
        "/v1/me/binding", headers=headers, json={"id_number": member["id_number"], "name": member["name"]}
    )
    assert bound.status_code in (200, 201), bound.text
    facility = (await http.get("/v1/facilities", params={"q": "粤北人民医院"})).json()["items"][0]["id"]
    today = manifest["today"]
    referral = await http.post(
        "/v1/counter/referrals",
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
        json={"id_number": member["id_number"], "target_facility_id": facility, "valid_from": today, "valid_to": today},
    )
    assert referral.status_code == 201, referral.text
    statuses = []
    for seed in range(8):
        claim = await http.post(
            "/v1/me/claims",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            json={
                "kind": "referral",
                "referral_id": referral.json()["id"],
                "items": [{"care_date": today, "facility_id": facility, "compliant_fen": 500}],
            },
        )
        assert claim.status_code == 201, claim.text
        body = claim.json()
        upload = await http.post(
            f"/v1/me/claims/{body['id']}/receipts",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            data={"item_id": str(body["items"][0]["id"])},
            files=[("files", (f"r{seed}.png", _noise_png(seed), "image/png"))],
        )
        statuses.append(upload.status_code)
        if upload.status_code == 507:
            problem = upload.json()
            assert problem["code"] == "storage_full" and problem["message_zh"], problem
            break
        assert upload.status_code == 201, upload.text
    assert statuses[0] == 201 and statuses[-1] == 507, statuses
    blobs = server.data_dir / "blobs"
    with contextlib.closing(sqlite3.connect(server.env["MEMBER_API_DATABASE_URL"][10:])) as db:
        named = {r[0] for r in db.execute("SELECT sha256 FROM receipt")}
    stored = {p.name: p for p in blobs.glob("*/*") if not p.name.startswith(".")}
    assert set(stored) == named  # nothing stored without its row, no row without its file
    for digest, path in stored.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # never cut short
    assert not list(blobs.glob("*/.tmp-*"))
    for _ in range(5):  # the workers live on, with metrics on the same full disk
        assert (await http.get("/health/ready")).status_code == 200
    assert server.proc is not None and server.proc.poll() is None


# ---- supervision --------------------------------------------------------------------------------------------------


async def _wait_for(condition: Any, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.2)


async def _until_waiting_on_locks(holder: Any, within_s: float = 30.0) -> None:
    """Until at least one server connection waits for a row lock the holder keeps."""
    deadline = time.monotonic() + within_s
    while not await holder.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"):
        assert time.monotonic() < deadline, "no request came to wait on the lock"
        await asyncio.sleep(0.05)


async def _until_in_progress(http: httpx.AsyncClient, server: Any, route: str, within_s: float = 30.0) -> None:
    """Until the server's own metrics count a request of ``route`` in progress (it has reached a worker)."""
    deadline = time.monotonic() + within_s
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    pattern = re.compile(r'member_api_requests_in_progress\{[^}]*path="' + re.escape(route) + r'"[^}]*\} ([0-9.]+)')
    while True:
        text = (await http.get("/metrics", headers=headers)).text
        if any(float(v) >= 1 for v in pattern.findall(text)):
            return
        assert time.monotonic() < deadline, f"no request of {route} reached the server"
        await asyncio.sleep(0.05)


async def _until_refusing_connections(server: Any, within_s: float = 10.0) -> None:
    """Until the server stops taking new connections (it has begun shutting down), or ``within_s`` passes."""
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient(base_url=server.url, timeout=1) as fresh:
        while time.monotonic() < deadline:
            try:
                await fresh.get("/health/live", headers={"Connection": "close"})
            except httpx.TransportError:
                return
            await asyncio.sleep(0.05)


async def test_a_killed_worker_is_respawned_and_sigterm_drains_in_flight_requests(tmp_path):
    """SIGKILL one of two workers: the server keeps serving and a new worker takes its place. Then SIGTERM while
    a settlement waits for the database: it still gets its answer (201) before the server exits."""
    env = {"MEMBER_API_DB_BUSY_TIMEOUT_S": "20", "MEMBER_API_METRICS_TOKEN": METRICS_TOKEN}
    async with running_server("sqlite", tmp_path, workers=2, serve_env=env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            counter = await Counter.open(server, http)
            await _wait_for(lambda: len(server.workers_pids()) == 2, 60, "two workers")
            before = server.workers_pids()
            os.kill(before[0], signal.SIGKILL)
            served = 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.TransportError):  # a request in flight on the killed worker
                    response = await counter.settle(counter.members[served % 4])
                    assert response.status_code == 201, response.text
                    served += 1
                now = server.workers_pids()
                if len(now) == 2 and before[0] not in now and served >= 5:
                    break
                await asyncio.sleep(0.1)
            assert server.proc is not None and server.proc.poll() is None, "the server exited with its worker"
            assert len(server.workers_pids()) == 2 and before[0] not in server.workers_pids()
            assert served >= 5

            member = counter.members[0]
            with contextlib.closing(sqlite3.connect(server.env["MEMBER_API_DATABASE_URL"][10:])) as db:
                db.execute("BEGIN IMMEDIATE")  # the settlement below waits for this lock
                in_flight = asyncio.create_task(counter.settle(member))
                await _until_in_progress(http, server, "/v1/counter/settlements")
                server.proc.send_signal(signal.SIGTERM)
                await _until_refusing_connections(server)  # shutting down, the settlement still waiting
                db.rollback()
            answer = await in_flight
            assert answer.status_code == 201, answer.text
            await asyncio.to_thread(server.proc.wait, 60)
        await money_invariant(server, counter.acknowledged)
