"""Catalogue import and lookup at the real catalogue's size (issue 29, R18).

    .venv/bin/python -m benchmarks.catalogue --entries 100000 [--engine postgres|sqlite|both]

Writes a national-format CSV of ``--entries`` entries (drugs, with a few real-looking names repeated under distinct
codes), imports it into a fresh migrated database with the import command's service (first import: every row
added; second: every row unchanged; third: a newer version of 10% of the entries, closing the ones in force), then
measures what the counter does on every visit: valuing a bill of 20 lines (``catalogue.service.value_lines``: one
indexed query) and a console search (``catalogue.service.search``) by code prefix, by name and by pinyin initials.
Prints one JSON object per engine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.common import fresh_postgres, machine
from member_api import db
from member_api.catalogue import service
from member_api.policy.fee_lines import FeeLine

HEADER = "med_list_codg,med_list_name,list_type,spec,chrgitm_lv,selfpay_prop,pric_uplmt_amt,begndate,enddate\n"
NAMES = ("阿莫西林胶囊", "头孢克肟片", "对乙酰氨基酚片", "硝苯地平缓释片", "盐酸二甲双胍片", "复方丹参滴丸")


def code(i: int) -> str:
    return f"XB{i:08d}A001010100461"


def write_csv(path: Path, entries: int, start: str = "2024-01-01", every: int = 1, category: str = "01") -> int:
    written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(0, entries, every):
            level = category if every > 1 else "0" + "123"[i % 3]
            prop = "0.10" if level == "02" else ""
            out.write(f"{code(i)},{NAMES[i % len(NAMES)]}{i},101,0.25g*24粒,{level},{prop},,{start},2099-12-31\n")
            written += 1
    return written


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> dict[str, float]:
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return {
        "p50_ms": round(statistics.median(took), 2),
        "p95_ms": round(took[int(len(took) * 0.95) - 1], 2),
        "max_ms": round(took[-1], 2),
    }


async def measure(entries: int, folder: Path) -> dict[str, Any]:
    now = datetime.now(UTC)
    first = folder / "drugs.csv"
    write_csv(first, entries)
    newer = folder / "drugs-2026.csv"
    changed = write_csv(newer, entries, start="2026-01-01", every=10, category="02")
    result: dict[str, Any] = {"entries": entries}
    for label, path in (("import_first_s", first), ("import_again_s", first), ("import_newer_10pct_s", newer)):
        started = time.perf_counter()
        report = await service.import_catalogue(path, now)
        result[label] = round(time.perf_counter() - started, 2)
        result[label.replace("_s", "_report")] = {k: getattr(report, k) for k in ("added", "closed", "unchanged")}
    result["changed_entries"] = changed
    rng = random.Random(29)

    async def bill() -> None:
        lines = [
            FeeLine(line_no=n, code=code(rng.randrange(entries)), count=Decimal(2), unit_price_fen=1250)
            for n in range(1, 21)
        ]
        valued = await service.value_lines(lines, date(2026, 11, 24), None)
        assert len(valued) == 20 and all(v.reasons != ["not_in_catalogue"] for v in valued)

    result["value_20_lines"] = await timed(bill, 200)
    day = date(2026, 11, 24)
    for label, query in (("search_code_prefix", "XB000123"), ("search_name", "硝苯地平"), ("search_initials", "xbdp")):
        result[label] = await timed(lambda q=query: service.search(q, day, None, 20), 50)
    return result


async def run(engine: str, entries: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        if engine == "postgres":
            async with fresh_postgres():
                found = await measure(entries, Path(folder))
        else:
            sqlite = db.make_engine(f"sqlite:///{folder}/bench.sqlite3")
            db.activate(sqlite)
            await db.prepare(sqlite)
            await db.run_migrations()
            try:
                found = await measure(entries, Path(folder))
            finally:
                await db.close(sqlite)
    return {"engine": engine, "machine": machine(), **found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--engine", choices=["postgres", "sqlite", "both"], default="both")
    args = parser.parse_args()
    for engine in ("postgres", "sqlite") if args.engine == "both" else (args.engine,):
        print(json.dumps(asyncio.run(run(engine, args.entries)), ensure_ascii=False))


if __name__ == "__main__":
    main()
