"""Issue 8: the resident's read endpoints at Shaoguan scale, against the same at 10 thousand members.

One run, one PostgreSQL database, one server: load ``--small`` members (10 settlements each), measure
p50/p99 of /v1/me/benefits, /v1/me/settlements and /v1/me/benefits/summary; grow the same tables to
``--large`` members (generated in SQL, not row by row), VACUUM (ANALYZE), measure again.

    .venv/bin/python -m benchmarks.benefits_scale --small 10000 --large 3000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from benchmarks.common import machine
from member_api.auth.tokens import access_token
from member_api.core.keys import load_keyring
from member_api.settings import Settings
from tests.helpers.serverproc import running_server

PER_MEMBER = 10
SAMPLES = 3000  # the p99 is then the 30th slowest answer, not the 10th: less at the mercy of one preemption
WARMUP = 200
ENDPOINTS = ("/v1/me/benefits", "/v1/me/settlements", "/v1/me/benefits/summary")


async def grow(url: str, first: int, last: int) -> float:
    """Members first..last with enrollment, an account bound to each, 10 settlements and a benefit account."""
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        facility = await conn.fetchval("SELECT id FROM facility WHERE code = 'H44020400001'")
        step = 250_000
        for a in range(first, last + 1, step):
            b = min(last, a + step - 1)
            lo, hi = await conn.fetchrow(
                "WITH ins AS (INSERT INTO member (insurance_no, name, id_hash, id_masked, birth_date, sex, division,"
                " phone_hash, phone_masked, guardian, credential_subject) SELECT 'BM' || g, '居民',"
                " md5(g::text) || md5('x' || g), '4402**********0000', date '1950-01-01' + (g % 25000), 'M', '浈江区',"
                " NULL, '', NULL, 'cs' || g FROM generate_series($1::int, $2::int) g RETURNING id)"
                " SELECT min(id), max(id) FROM ins",
                a,
                b,
            )
            await conn.execute(
                "INSERT INTO enrollment (member, year, paid_up, enrolled_on)"
                " SELECT g, 2026, true, '2025-12-15' FROM generate_series($1::int, $2::int) g",
                lo,
                hi,
            )
            await conn.execute(
                "INSERT INTO account (phone_hash, phone_masked, member, created_at) SELECT"
                " md5('p' || g) || md5('q' || g), '139****0000', g, now()"
                " FROM generate_series($1::int, $2::int) g",
                lo,
                hi,
            )
            await conn.execute(
                "INSERT INTO movement (member, facility, kind, year, visit_date, clerk_id, general_fee_fen,"
                " compliant_fen, non_compliant_fen, emergency, referral_id, out_of_city, fund_fen, member_fen, lines,"
                " reasons, repeat_same_day, credential_jti, reverses, reason_text, created_at)"
                " SELECT g, $1, 'counter', 2026, date '2026-01-01' + ((k * 31 + g) % 330), NULL, 1000, 2000, 0,"
                " false, NULL, false, 2100, 900, '[]', '[]', false, NULL, NULL, '', now()"
                " FROM generate_series($2::int, $3::int) g, generate_series(1, $4::int) k",
                facility,
                lo,
                hi,
                PER_MEMBER,
            )
            await conn.execute(
                "INSERT INTO benefit_account (member, year, used_fen, used_out_of_city_fen, updated_at)"
                " SELECT g, 2026, 2100 * $3::int, 0, now() FROM generate_series($1::int, $2::int) g",
                lo,
                hi,
                PER_MEMBER,
            )
        # Steady state, as a registry that has lived with its data: without this, autovacuum's first pass over
        # tens of millions of freshly inserted rows runs during the measurement and decides its p99.
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def measure(server_url: str, url: str, key_dir: Path) -> dict[str, tuple[float, float]]:
    keyring = load_keyring(key_dir)
    settings = Settings()
    conn = await asyncpg.connect(url)
    query = "SELECT id FROM account WHERE member IS NOT NULL ORDER BY random() LIMIT $1"
    accounts = [r["id"] for r in await conn.fetch(query, SAMPLES + WARMUP)]
    # Access tokens name an open login session; the bench's tokens share one.
    await conn.execute(
        "INSERT INTO auth_session (sid, subject, created_at) VALUES ('bench', 'bench', now()) ON CONFLICT DO NOTHING"
    )
    await conn.close()
    results = {}
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as http:
        for path in ENDPOINTS:
            latencies = []
            for n, account in enumerate(accounts):
                token = access_token(
                    keyring,
                    subject=f"a{account}",
                    role="member",
                    facility_id=None,
                    issuer=settings.issuer,
                    audience=settings.audience,
                    now=datetime.now(UTC),
                    ttl_s=900,
                    session="bench",
                )
                t0 = time.perf_counter()
                response = await http.get(path, headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 200, response.text
                if n >= WARMUP:
                    latencies.append((time.perf_counter() - t0) * 1000)
            latencies.sort()
            results[path] = (statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1])
    return results


async def main(small: int, large: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_server("postgres", Path(tmp), workers=1) as server:
            url = server.env["MEMBER_API_DATABASE_URL"]
            t_small = await grow(url, 1, small)
            at_small = await measure(server.url, url, Path(tmp) / "keys")
            t_large = await grow(url, small + 1, large)
            at_large = await measure(server.url, url, Path(tmp) / "keys")
            conn = await asyncpg.connect(url)
            counts = await conn.fetchrow("SELECT (SELECT count(*) FROM member) m, (SELECT count(*) FROM movement) s")
            await conn.close()
    print(f"machine: {machine()}; load {t_small:.0f} s + {t_large:.0f} s; {SAMPLES} random members per endpoint")
    print(f"rows at large scale: {counts['m']:,} members, {counts['s']:,} settlements")
    for path in ENDPOINTS:
        (p50s, p99s), (p50l, p99l) = at_small[path], at_large[path]
        print(
            f"{path:28s} {small:>9,}: p50 {p50s:6.1f} ms p99 {p99s:6.1f} ms | {large:>9,}: p50 {p50l:6.1f} ms "
            f"p99 {p99l:6.1f} ms | p99 ratio {p99l / p99s:.2f}"
        )
    print(json.dumps({"small": at_small, "large": at_large}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=3_000_000)
    a = parser.parse_args()
    random.seed(1)
    asyncio.run(main(a.small, a.large))
