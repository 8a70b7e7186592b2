"""Issue 17: the monthly capitation close at city scale, against the same aggregates in one hand-written statement.

One run, one fresh PostgreSQL database: ``--institutions`` township centres with three village stations each,
``--members`` members designated for 2026 (half at a station, 2% changed institution on 1 July), and about
``--visit-share`` of them with one settlement a month from January to October (all generated in SQL). Then, in
the same process and on the same pool:

- the API's close of October 2026 (``agency.service.close_month``: watermark, headcounts as of the ends of
  October, September and August, September's actual payments, the per-institution statements written and
  audited, the adjustment fund's accruals), and
- the baseline: one SQL statement computing the same per-institution figures (headcounts, prepayment,
  guarantee and adjustment shares, September's clearing) and returning them, writing nothing.

Each is run ``--repeat`` times (the close's rows are deleted between runs) and the best time is reported.

    .venv/bin/python -m benchmarks.agency_close --members 2500000 --institutions 300
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

import asyncpg

from benchmarks.common import fresh_postgres, machine
from member_api.agency import service
from member_api.core.clock import FrozenClock

BASELINE = """
WITH heads AS (
  SELECT institution,
    COUNT(DISTINCT CASE WHEN year = 2026 AND valid_from <= '2026-10-31'
          AND (valid_to IS NULL OR valid_to > '2026-10-31')
          THEN member END) AS oct,
    COUNT(DISTINCT CASE WHEN year = 2026 AND valid_from <= '2026-09-30'
          AND (valid_to IS NULL OR valid_to > '2026-09-30')
          THEN member END) AS sep,
    COUNT(DISTINCT CASE WHEN year = 2026 AND valid_from <= '2026-08-31'
          AND (valid_to IS NULL OR valid_to > '2026-08-31')
          THEN member END) AS aug
  FROM designation WHERE year = 2026 GROUP BY institution
), actual AS (
  SELECT COALESCE(f.parent, f.id) AS unit, SUM(s.fund_fen)::bigint AS fund
  FROM movement s JOIN facility f ON f.id = s.facility
  WHERE s.visit_date >= '2026-09-01' AND s.visit_date < '2026-10-01' GROUP BY 1
), figures AS (
  SELECT i.id, COALESCE(h.oct, 0) AS headcount, COALESCE(h.sep, 0) AS prepayment_headcount,
    (COALESCE(h.sep, 0) * 6000 * 8000 * 2 + 12 * 10000) / (2 * 12 * 10000) AS prepayment,
    (COALESCE(h.sep, 0) * 6000 * 500 * 2 + 12 * 10000) / (2 * 12 * 10000) AS guarantee,
    (COALESCE(h.sep, 0) * 6000 * 1500 * 2 + 12 * 10000) / (2 * 12 * 10000) AS adjustment_fund,
    (COALESCE(h.aug, 0) * 6000 * 8000 * 2 + 12 * 10000) / (2 * 12 * 10000) AS cleared_prepayment,
    COALESCE(a.fund, 0) AS actual
  FROM facility i LEFT JOIN heads h ON h.institution = i.id LEFT JOIN actual a ON a.unit = i.id
  WHERE i.parent IS NULL AND i.in_city AND i.kind IN ('community_center', 'school_clinic', 'township_center')
)
SELECT *, LEAST(GREATEST(actual, 0), cleared_prepayment) AS cleared,
  (LEAST(GREATEST(actual, 0), cleared_prepayment) * 500 * 2 + 10000) / 20000 AS withheld
FROM figures ORDER BY id
"""


async def grow(url: str, institutions: int, members: int, visit_share: float) -> float:
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        first = await conn.fetchval(
            "WITH ins AS (INSERT INTO facility (code, name, kind, tier, division, address, lat, lng, in_city, active,"
            " parent) SELECT 'BI' || lpad(g::text, 6, '0'), '基准卫生院' || g, 'township_center', 'primary',"
            " '浈江区', '', 24.8, 113.6, true, true, NULL FROM generate_series(0, $1::int - 1) g ORDER BY g"
            " RETURNING id) SELECT min(id) FROM ins",
            institutions,
        )
        first_station = await conn.fetchval(
            "WITH ins AS (INSERT INTO facility (code, name, kind, tier, division, address, lat, lng, in_city, active,"
            " parent) SELECT 'BS' || lpad((i * 3 + k)::text, 7, '0'), '基准卫生站', 'village_station', 'primary',"
            " '浈江区', '', 24.8, 113.6, true, true, $2::int + i FROM generate_series(0, $1::int - 1) i,"
            " generate_series(0, 2) k ORDER BY i, k RETURNING id) SELECT min(id) FROM ins",
            institutions,
            first,
        )
        step = 250_000
        for a in range(1, members + 1, step):
            b = min(members, a + step - 1)
            lo, hi = await conn.fetchrow(
                "WITH ins AS (INSERT INTO member (insurance_no, name, id_hash, id_masked, birth_date, sex, division,"
                " phone_hash, phone_masked, guardian, credential_subject) SELECT 'BM' || g, '居民',"
                " md5(g::text) || md5('x' || g), '4402**********0000', date '1950-01-01' + (g % 25000), 'M', '浈江区',"
                " NULL, '', NULL, 'cs' || g FROM generate_series($1::int, $2::int) g RETURNING id)"
                " SELECT min(id), max(id) FROM ins",
                a,
                b,
            )
            # Institution n = id % I; half choose one of its stations; 2% move to the next institution on 1 July.
            await conn.execute(
                "INSERT INTO designation (member, year, institution, station, valid_from, valid_to, source, created_at)"
                " SELECT g, 2026, $3::int + g % $5::int,"
                " CASE WHEN g % 2 = 0 THEN $4::int + (g % $5::int) * 3 + (g / $5::int) % 3 END, '2026-01-01',"
                " CASE WHEN g % 50 = 0 THEN date '2026-07-01' END, 'first_choice', now()"
                " FROM generate_series($1::int, $2::int) g",
                lo,
                hi,
                first,
                first_station,
                institutions,
            )
            await conn.execute(
                "INSERT INTO designation (member, year, institution, station, valid_from, source, created_at)"
                " SELECT g, 2026, $3::int + (g + 1) % $4::int, NULL, '2026-07-01', 'change', now()"
                " FROM generate_series($1::int, $2::int) g WHERE g % 50 = 0",
                lo,
                hi,
                first,
                institutions,
            )
            await conn.execute(
                "INSERT INTO movement (member, facility, kind, year, visit_date, clerk_id, general_fee_fen,"
                " compliant_fen, non_compliant_fen, emergency, referral_id, out_of_city, fund_fen, member_fen, lines,"
                " reasons, repeat_same_day, credential_jti, reverses, reason_text, created_at)"
                " SELECT g, CASE WHEN g % 2 = 0 THEN $4::int + (g % $5::int) * 3 + (g / $5::int) % 3"
                " ELSE $3::int + g % $5::int END, 'counter', 2026,"
                " make_date(2026, m, 1 + g % 28), NULL, 1000, 2000 + g % 3000, 0, false, NULL, false,"
                " 2100 + (g % 3000) * 7 / 10, 900, '[]', '[]', false, NULL, NULL, '', now()"
                " FROM generate_series($1::int, $2::int) g, generate_series(1, 10) m"
                " WHERE (g * 7 + m * 13) % 1000 < $6::int",
                lo,
                hi,
                first,
                first_station,
                institutions,
                int(visit_share * 1000),
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def main(members: int, institutions: int, visit_share: float, repeat: int) -> None:
    async with fresh_postgres() as url:
        load = await grow(url, institutions, members, visit_share)
        conn = await asyncpg.connect(url)
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM member) m, (SELECT count(*) FROM designation) d,"
            " (SELECT count(*) FROM movement) s"
        )
        clock = FrozenClock(datetime(2026, 11, 3, 2, 0, tzinfo=UTC))
        api_times, sql_times = [], []
        for n in range(repeat):
            t0 = time.perf_counter()
            baseline = await conn.fetch(BASELINE)
            sql_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            books = await service.close_month(clock, "bench", 2026, 10)
            api_times.append(time.perf_counter() - t0)
            by_id = {i.institution.id: i for i in books.items}
            for row in baseline:  # same figures, or the comparison means nothing
                item = by_id[row["id"]]
                assert (item.headcount, item.prepayment_headcount, item.prepayment_fen) == (
                    row["headcount"],
                    row["prepayment_headcount"],
                    row["prepayment"],
                ), row
                assert (item.cleared_actual_fen, item.cleared_fen, item.withheld_fen) == (
                    row["actual"],
                    row["cleared"],
                    row["withheld"],
                ), row
            if n < repeat - 1:
                await conn.execute(
                    "DELETE FROM adjustment_fund_movement; DELETE FROM adjustment_fund_account;"
                    " DELETE FROM capitation_statement; DELETE FROM capitation_close;"
                    " DELETE FROM audit_event WHERE action = 'capitation_close'"
                )
        await conn.close()
    api, sql = min(api_times), min(sql_times)
    print(f"machine: {machine()}")
    print(
        f"rows: {counts['m']:,} members, {counts['d']:,} designations, {counts['s']:,} settlements,"
        f" {institutions} institutions (+{institutions * 3} stations); load {load:.0f} s"
    )
    print(f"close October 2026 (API service): {api:.2f} s (runs: {', '.join(f'{t:.2f}' for t in api_times)})")
    print(f"same aggregates, one SQL statement: {sql:.2f} s (runs: {', '.join(f'{t:.2f}' for t in sql_times)})")
    print(f"ratio API / SQL: {api / sql:.2f} (target <= 2)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2_500_000)
    parser.add_argument("--institutions", type=int, default=300)
    parser.add_argument("--visit-share", type=float, default=0.3)
    parser.add_argument("--repeat", type=int, default=3)
    a = parser.parse_args()
    asyncio.run(main(a.members, a.institutions, a.visit_share, a.repeat))
