"""Registry import speed: ``member-api import-members`` against PostgreSQL ``COPY`` of the same file.

    .venv/bin/python -m benchmarks.import_members --rows 1000000

Both run in one process against fresh databases on the same server; the figure that matters is the
ratio (COPY only loads text columns; the importer validates, hashes and upserts).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import asyncpg

from benchmarks.common import fresh_postgres, machine
from member_api.core.divisions import DIVISIONS
from member_api.members.identity import check_digit
from member_api.members.importer import COLUMNS, import_csv
from member_api.settings import Settings


def write_csv(path: Path, rows: int) -> None:
    divisions = list(DIVISIONS.items())
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for i in range(rows):
            name, code = divisions[i % len(divisions)]
            birth = date(1940, 1, 1) + timedelta(days=i % 29000)
            body = f"{code}{birth:%Y%m%d}{i // 29000 % 1000:03d}"
            id_number = body + check_digit(body)
            phone = f"139{i:08d}" if i % 2 else ""
            out.writerow([f"B{i:011d}", "测试居民", id_number, "MF"[i % 2], name, phone, "", 2026, 1, "2025-12-20"])


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "members.csv"
        write_csv(path, rows)
        settings = Settings(data_dir=tmp)
        async with fresh_postgres() as url:
            started = time.perf_counter()
            report = await import_csv(settings, path, progress=False)
            importer_s = time.perf_counter() - started
            assert report.fatal is None, report.fatal
        async with fresh_postgres(migrate=False) as url:
            conn = await asyncpg.connect(url)
            await conn.execute(f"CREATE TABLE import_copy ({', '.join(f'{c} text' for c in COLUMNS)})")
            started = time.perf_counter()
            await conn.copy_to_table("import_copy", source=str(path), format="csv", header=True)
            copy_s = time.perf_counter() - started
            await conn.close()
    print(f"machine: {machine()}")
    print(f"rows: {rows}, imported {report.imported}, rejected {len(report.rejected)}")
    print(f"import-members: {rows / importer_s:,.0f} rows/s ({importer_s:.1f} s)")
    print(f"COPY:           {rows / copy_s:,.0f} rows/s ({copy_s:.1f} s)")
    print(f"ratio importer/COPY: {copy_s / importer_s:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().rows))
