"""Issue 7 benchmarks, one run against one PostgreSQL-backed server (`wrk` drives the HTTP load):

- e-credential token / PNG / SVG requests per second against a plain JSON endpoint of the same server;
- PNG rendering cost in-process (budget 8 ms);
- counter settlements per second against the same statements sent directly with asyncpg;
- settlement latency (p50/p99) at a fixed, open-loop rate (default 200 per second).

    .venv/bin/python -m benchmarks.http_load [--seconds 10] [--connections 16] [--workers 1] [--rate 200]

Issue 31, one line each:

- ``--db-rtt-ms 1``: the server reaches PostgreSQL through a delaying TCP proxy (benchmarks/delay_proxy.py, the
  database "on another host"); settlement p50/p99 at a low fixed rate, and the round trips per settlement the
  proxy counted (less what the idle server sends in the same time);
- ``--pgbouncer``: settlements per second (wrk) of a server behind PgBouncer in transaction mode (statement cache
  off) over those of a server connected directly.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from benchmarks.common import machine
from member_api import db
from member_api.core.keys import load_keyring
from member_api.credential import render
from member_api.jobs.demo import DEMO_PASSWORD, demo_id
from tests.helpers.serverproc import running_server

EXTRA_MEMBERS = 400
BENCH_FACILITY = "H44020300001"  # clerk_wj_xh's institution
SETTLE_LUA = """
local ids = {%s}
local n = 0
local tag = ""
init = function(args)
  tag = tostring({}):sub(8)  -- a per-thread tag: keys never repeat across wrk threads
end
request = function()
  n = n + 1
  local body = string.format('{"visit_date":"%s","id_number":"%%s","compliant_fen":100}', ids[(n %% #ids) + 1])
  wrk.headers["Idempotency-Key"] = string.format("bench-%%s-%%d", tag, n)
  return wrk.format("POST", "/v1/counter/settlements", nil, body)
end
"""


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str], script: Path | None = None) -> float:
    args = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    if script:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers under load:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


async def seed_members(url: str, today: date, key_dir: Path) -> list[str]:
    """Paid-up members designated at the bench clerk's institution (and a station under it): the fund pays."""
    keyring = load_keyring(key_dir)
    conn = await asyncpg.connect(url)
    ids = []
    try:
        institution = await conn.fetchval("SELECT id FROM facility WHERE code = $1", BENCH_FACILITY)
        station = await conn.fetchval("SELECT id FROM facility WHERE parent = $1 ORDER BY id LIMIT 1", institution)
        for i in range(EXTRA_MEMBERS):
            idn = demo_id("440203", date(1970 + i % 40, 1 + i % 12, 1 + i % 28), i % 100, "MF"[i % 2])
            if idn in ids:
                continue
            ids.append(idn)
            member = await conn.fetchval(
                "INSERT INTO member (insurance_no, name, id_hash, id_masked, birth_date, sex, division, phone_hash, "
                "phone_masked, guardian, credential_subject) VALUES ($1,'压测',$2,'x',$3,'M','武江区',NULL,'',NULL,$4) "
                "RETURNING id",
                f"BENCH{i:06d}",
                keyring.keyed_hash("id", idn),
                date(1980, 1, 1),
                secrets.token_urlsafe(12),
            )
            await conn.execute(
                "INSERT INTO enrollment (member, year, paid_up, enrolled_on) VALUES ($1,$2,true,$3)",
                member,
                today.year,
                today,
            )
            await conn.execute(
                "INSERT INTO designation (member, year, institution, station, valid_from, source, created_at)"
                " VALUES ($1, $2, $3, $4, $5, 'first_choice', now())",
                member,
                today.year,
                institution,
                station,
                date(today.year, 1, 1),
            )
    finally:
        await conn.close()
    return ids


# The statements the API sends for one counter settlement, in order, as PostgreSQL's statement log shows them
# (``log_statement = all``, 2026-11-25). The session and staff checks are cached for a few seconds, so under load
# they are not sent per request; the push outbox drain runs beside the requests and is left out.
CLAIM = (
    "INSERT INTO idempotency_record (scope, key, fingerprint, state, status_code, body, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, NULL, '', $5, $6) ON CONFLICT (scope, key) DO NOTHING RETURNING id"
)
MEMBER = "SELECT id, name, id_masked, birth_date, credential_subject FROM member WHERE id_hash = $1"
FACILITY = "SELECT id, name, kind, tier, in_city FROM facility WHERE id = $1"
DESIGNATION = (
    "SELECT id, member, year, institution, station, valid_from, valid_to, source, change_request, created_at,"
    " made_by, made_by_facility FROM designation WHERE member = $1 AND year = $2 AND valid_from <= $3"
    " AND (valid_to IS NULL OR valid_to > $4) ORDER BY valid_from DESC LIMIT 1"
)
ENROLLMENT = "SELECT paid_up, enrolled_on FROM enrollment WHERE member = $1 AND year = $2"
LOCK_ACCOUNT = (
    "INSERT INTO benefit_account (member, year, used_fen, used_out_of_city_fen, updated_at) VALUES ($1, $2, 0, 0, $3)"
    " ON CONFLICT (member, year) DO UPDATE SET updated_at = excluded.updated_at"
    " RETURNING id, used_fen, used_out_of_city_fen"
)
SAME_DAY = (
    "SELECT 1 AS hit FROM movement WHERE member = $1 AND facility = $2 AND visit_date = $3 AND kind = 'counter' LIMIT 1"
)
MOVEMENT = (
    "INSERT INTO movement (member, facility, kind, year, visit_date, clerk_id, general_fee_fen, compliant_fen,"
    " non_compliant_fen, emergency, referral_id, out_of_city, fund_fen, member_fen, lines, reasons, repeat_same_day,"
    " credential_jti, reverses, reason_text, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
    " $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING *"
)
SET_USED = "UPDATE benefit_account SET used_fen = $1, used_out_of_city_fen = $2, updated_at = $3 WHERE id = $4"
RECIPIENTS = (
    "SELECT m.guardian, m.birth_date, g.relative, g.scopes FROM member m"
    " LEFT JOIN family_grant g ON g.member = m.id AND g.status = $1 WHERE m.id = $2 ORDER BY g.id"
)
NOTICE = (
    "INSERT INTO notice (recipient, about, kind, movement_id, dispute_id, text_zh, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
AUDIT = "INSERT INTO audit_event (at, actor, action, subject_type, subject_id, data) VALUES ($1, $2, $3, $4, $5, $6)"
COMPLETE = (
    "UPDATE idempotency_record SET state = $1, status_code = $2, body = $3, updated_at = $4"
    " WHERE scope = $5 AND key = $6"
)


async def stored_values(conn: asyncpg.Connection) -> dict[str, str]:
    """What the API stored for its last settlement (response body, audit details, notice text and movement lines),
    so the baseline writes rows of the same size: the write-ahead log costs per byte."""
    row = await conn.fetchrow(
        "SELECT (SELECT body FROM idempotency_record WHERE state = 'done' AND status_code = 201 ORDER BY id DESC"
        " LIMIT 1) AS body, (SELECT data FROM audit_event WHERE action = 'settlement' ORDER BY id DESC LIMIT 1)"
        " AS audit, (SELECT text_zh FROM notice ORDER BY id DESC LIMIT 1) AS notice,"
        " (SELECT lines FROM movement WHERE kind = 'counter' ORDER BY id DESC LIMIT 1) AS lines"
    )
    return {k: str(v) for k, v in dict(row).items()}


async def asyncpg_baseline(
    url: str,
    seconds: int,
    concurrency: int,
    id_hashes: list[str],
    staff_id: int,
    today: date,
    stored: dict[str, str],
) -> float:
    """The statements the API sends for one settlement, by hand, with the same parameters.

    The idempotency key claim on a pooled connection, then one transaction: member, facility, designation,
    enrollment, the account upsert that locks it, the same-day check (R16), the movement, the account update, the
    notice (its recipients: guardian and relatives, then the row), the audit row and the recorded response.
    """
    # The server's pool settings, including its release without a RESET round trip.
    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency, reset=db.keep_session)
    done = 0
    deadline = time.perf_counter() + seconds
    year = today.year
    async with pool.acquire() as conn:
        facility_id = await conn.fetchval("SELECT facility FROM staff WHERE id = $1", staff_id)

    async def loop(n: int) -> None:
        nonlocal done
        i = n
        while time.perf_counter() < deadline:
            id_hash = id_hashes[i % len(id_hashes)]
            key = f"asyncpg-{n}-{i}"
            i += concurrency
            now = datetime.now(UTC)
            async with pool.acquire() as conn:
                await conn.fetch(CLAIM, "b", key, hashlib.sha256(key.encode()).hexdigest(), "running", now, now)
            async with pool.acquire() as conn, conn.transaction():
                member = await conn.fetchrow(MEMBER, id_hash)
                facility = await conn.fetchrow(FACILITY, facility_id)
                await conn.fetchrow(DESIGNATION, member["id"], year, today, today)
                await conn.fetchrow(ENROLLMENT, member["id"], year)
                account = await conn.fetchrow(LOCK_ACCOUNT, member["id"], year, now)
                repeat = await conn.fetchrow(SAME_DAY, member["id"], facility["id"], today)
                row = await conn.fetchrow(
                    MOVEMENT, member["id"], facility["id"], "counter", year, today, staff_id, 0, 100, 0, False,
                    None, False, 70, 30, stored["lines"], "[]", repeat is not None, None, None, "", now,
                )  # fmt: skip
                await conn.execute(SET_USED, account["used_fen"] + 70, 0, now, account["id"])
                await conn.fetch(RECIPIENTS, "active", member["id"])
                notice = stored["notice"]
                await conn.execute(NOTICE, member["id"], member["id"], "counter", row["id"], None, notice, now)
                await conn.execute(AUDIT, now, "staff:3", "settlement", "settlement", str(row["id"]), stored["audit"])
                await conn.execute(COMPLETE, "done", 201, stored["body"], now, "b", key)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return done / elapsed


async def fixed_rate(
    url: str, headers: dict[str, str], bodies: list[bytes], rate: int, seconds: int
) -> tuple[float, float, int]:
    """(p50 ms, p99 ms, non-201 answers) of settlements sent open-loop at ``rate`` per second.

    Request ``i`` is due at ``start + i / rate`` whether or not earlier ones have answered, and its latency counts
    from when it was due, so a stall shows in the percentiles instead of slowing the load (no coordinated omission).
    """
    latencies: list[float] = []
    failed = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:

        async def one(i: int, due: float) -> None:
            nonlocal failed
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            answer = await http.post(
                "/v1/counter/settlements",
                content=bodies[i % len(bodies)],
                headers={**headers, "Idempotency-Key": f"rate-{i}-{secrets.token_hex(4)}"},
            )
            latencies.append((time.perf_counter() - due) * 1000)
            failed += answer.status_code != 201

        start = time.perf_counter() + 0.2
        await asyncio.gather(*(one(i, start + i / rate) for i in range(rate * seconds)))
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49], cuts[98], failed


def png_ms(token: str) -> float:
    samples = []
    for _ in range(200):
        t0 = time.perf_counter()
        render.png(token, 300)
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


async def main(seconds: int, connections: int, workers: int, rate: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_server("postgres", Path(tmp), workers=workers) as server:
            manifest = json.loads((Path(tmp) / "manifest.json").read_text())
            today = date.fromisoformat(manifest["today"])
            url = server.env["MEMBER_API_DATABASE_URL"]
            id_numbers = await seed_members(url, today, Path(tmp) / "keys")
            async with httpx.AsyncClient(base_url=server.url) as http:
                phone = manifest["members"][0]["phone"]
                await http.post("/v1/auth/otp", json={"phone": phone})
                code = json.loads((Path(tmp) / "sms.jsonl").read_text().splitlines()[-1])["code"]
                member = (await http.post("/v1/auth/login", json={"phone": phone, "code": code})).json()
                m = manifest["members"][0]
                auth = {"Authorization": f"Bearer {member['access_token']}"}
                await http.post("/v1/me/binding", json={"id_number": m["id_number"], "name": m["name"]}, headers=auth)
                clerk = (
                    await http.post("/v1/auth/staff/login", json={"username": "clerk_wj_xh", "password": DEMO_PASSWORD})
                ).json()
                token = (await http.get("/v1/me/credential", headers=auth)).json()["token"]
            clerk_auth = {"Authorization": f"Bearer {clerk['access_token']}", "Content-Type": "application/json"}
            results = {"plain JSON (/health/live)": wrk(f"{server.url}/health/live", seconds, connections, {})}
            for path in ("/v1/me/credential", "/v1/me/credential.png", "/v1/me/credential.svg"):
                results[path] = wrk(f"{server.url}{path}", seconds, connections, auth)
            script = Path(tmp) / "settle.lua"
            script.write_text(SETTLE_LUA % (",".join(f'"{i}"' for i in id_numbers), today.isoformat()))
            results["POST /v1/counter/settlements"] = wrk(server.url, seconds, connections, clerk_auth, script)
            bodies = [
                json.dumps({"visit_date": today.isoformat(), "id_number": i, "compliant_fen": 100}).encode()
                for i in id_numbers
            ]
            p50, p99, failed = await fixed_rate(server.url, clerk_auth, bodies, rate, max(seconds, 10))
            conn = await asyncpg.connect(url)
            hashes = [
                r["id_hash"] for r in await conn.fetch("SELECT id_hash FROM member WHERE insurance_no LIKE 'BENCH%'")
            ]
            staff_id = await conn.fetchval("SELECT id FROM staff WHERE username = 'clerk_wj_xh'")
            stored = await stored_values(conn)
            await conn.close()
            server.kill()  # the database to itself for the hand-written baseline
            baseline = await asyncpg_baseline(url, seconds, connections, hashes, staff_id, today, stored)
    print(f"machine: {machine()}; server workers: {workers}; wrk connections: {connections}; {seconds}s each")
    plain = results["plain JSON (/health/live)"]
    for name, rps in results.items():
        print(f"{name:40s} {rps:10.0f} req/s   ratio to plain JSON {rps / plain:.2f}")
    settle = results["POST /v1/counter/settlements"]
    print(f"{'asyncpg, same transaction by hand':40s} {baseline:10.0f} tx/s    API/asyncpg {settle / baseline:.2f}")
    print(f"settlements at a fixed {rate} req/s for {max(seconds, 10)} s: p50 {p50:.1f} ms, p99 {p99:.1f} ms", end="")
    print(f" ({failed} not 201)" if failed else "")
    print(
        f"credential PNG render (in-process, median of 200): {png_ms(token):.2f} ms; "
        f"QR version {render.version_for(token)}; token {len(token)} chars"
    )


async def _prepared(server: Any, direct_url: str, tmp: Path) -> tuple[dict[str, str], list[bytes], list[str]]:
    """Seed the bench members (on ``direct_url``), log the bench clerk in: (headers, settlement bodies, id numbers)."""
    manifest = json.loads((tmp / "manifest.json").read_text())
    today = date.fromisoformat(manifest["today"])
    id_numbers = await seed_members(direct_url, today, tmp / "keys")
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        clerk = (
            await http.post("/v1/auth/staff/login", json={"username": "clerk_wj_xh", "password": DEMO_PASSWORD})
        ).json()
    headers = {"Authorization": f"Bearer {clerk['access_token']}", "Content-Type": "application/json"}
    bodies = [
        json.dumps({"visit_date": today.isoformat(), "id_number": i, "compliant_fen": 100}).encode() for i in id_numbers
    ]
    return headers, bodies, id_numbers


def _count(path: Path) -> int:
    return int(path.read_text().split()[0])


async def rtt_run(rtt_ms: float, seconds: int, rate: int) -> None:
    """Settlement latency with every database round trip ``rtt_ms`` longer, and the round trips per settlement."""
    from tests.helpers.serverproc import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        counts = Path(tmp) / "proxy.count"
        command = [sys.executable, "-m", "benchmarks.delay_proxy", "--listen", f"127.0.0.1:{port}"]
        command += ["--target", "127.0.0.1:5432", "--delay-ms", str(rtt_ms), "--count-file", str(counts)]
        proxy = subprocess.Popen(command)  # noqa: ASYNC220 - started once, before the measurement
        direct: dict[str, str] = {}

        def through_proxy(url: str) -> dict[str, str]:
            direct["url"] = url
            proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{port}")
            return {"MEMBER_API_DATABASE_URL": proxied, "MEMBER_API_LISTEN_DATABASE_URL": url}

        try:
            async with running_server("postgres", Path(tmp), workers=1, env=through_proxy) as server:
                headers, bodies, _ = await _prepared(server, direct["url"], Path(tmp))
                await asyncio.sleep(1.0)
                idle_start = _count(counts)
                await asyncio.sleep(seconds)
                idle = _count(counts) - idle_start
                start = _count(counts)
                p50, p99, failed = await fixed_rate(server.url, headers, bodies, rate, seconds)
                await asyncio.sleep(1.0)  # the proxy rewrites its count each half second
                sent = _count(counts) - start - idle * (seconds + 1) / seconds
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
    settlements = rate * seconds
    print(f"machine: {machine()}; one server worker; {settlements} settlements at {rate}/s", end="")
    print(f" ({failed} not 201)" if failed else "")
    print(
        f"settlement at {rtt_ms:.1f} ms database RTT: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"round trips per settlement {sent / settlements:.1f}"
    )


async def pgbouncer_run(seconds: int, connections: int, workers: int) -> None:
    """wrk's settlements per second behind PgBouncer (transaction mode) over those with a direct connection."""
    from tests.helpers.pgbouncer import running_pgbouncer, through

    results = {}
    with tempfile.TemporaryDirectory() as tmp, running_pgbouncer(Path(tmp) / "pgbouncer", pool_size=20) as port:
        behind = {
            "direct": None,
            "pgbouncer": lambda url: {
                "MEMBER_API_DATABASE_URL": through(url, port),
                "MEMBER_API_LISTEN_DATABASE_URL": url,
                "MEMBER_API_DB_STATEMENT_CACHE_SIZE": "0",
            },
        }
        for name, env in behind.items():
            run_dir = Path(tmp) / f"server-{name}"
            run_dir.mkdir()
            direct: dict[str, str] = {}

            def remember(url: str, env: Any = env, direct: dict[str, str] = direct) -> dict[str, str]:
                direct["url"] = url
                return env(url) if env else {}

            async with running_server("postgres", run_dir, workers=workers, env=remember) as server:
                headers, _, id_numbers = await _prepared(server, direct["url"], run_dir)
                script = run_dir / "settle.lua"
                today = json.loads((run_dir / "manifest.json").read_text())["today"]
                script.write_text(SETTLE_LUA % (",".join(f'"{i}"' for i in id_numbers), today))
                results[name] = wrk(server.url, seconds, connections, headers, script)
    print(f"machine: {machine()}; server workers: {workers}; wrk connections: {connections}; {seconds}s each")
    print(f"settlements per second: direct {results['direct']:.0f}, through PgBouncer {results['pgbouncer']:.0f}")
    print(f"settlement through PgBouncer (transaction mode) / direct: {results['pgbouncer'] / results['direct']:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rate", type=int, default=200, help="settlements per second for the latency run")
    parser.add_argument("--db-rtt-ms", type=float, help="only: settlement latency through a delaying proxy")
    parser.add_argument("--pgbouncer", action="store_true", help="only: settlements behind PgBouncer / direct")
    a = parser.parse_args()
    if a.db_rtt_ms is not None:
        asyncio.run(rtt_run(a.db_rtt_ms, max(a.seconds, 10), min(a.rate, 20)))
    elif a.pgbouncer:
        asyncio.run(pgbouncer_run(a.seconds, a.connections, a.workers))
    else:
        asyncio.run(main(a.seconds, a.connections, a.workers, a.rate))
