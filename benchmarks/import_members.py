"""Registry import speed: ``member-api import-members`` against PostgreSQL ``COPY`` of the same file (issue 19).

    .venv/bin/python -m benchmarks.import_members --rows 1000000 [--breakdown]

The importer runs as the real CLI (``member-api import-members FILE --quiet``) in a child process against a fresh,
migrated database, so its peak RSS is its own (``wait4``); its time is the one it reports (file open to commit,
without interpreter start-up). Then the same file again into the now full registry (every line an unchanged
update). The baseline is ``COPY`` of the same CSV into a table of ten text columns on a fresh database of the same
server, in this process, three times before the importer and twice after (the median counts). The figure that
matters is the ratio: COPY loads text; the importer validates every line, computes two keyed hashes, masks, and
upserts members and enrollments in one transaction. ``--breakdown`` then imports once more in this process and
prints each statement's server CPU time (read from /proc for the local backend, so other load on a shared host
moves it little) and the Python CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.common import fresh_postgres, machine
from member_api.core.divisions import DIVISIONS
from member_api.members.identity import check_digit
from member_api.members.importer import COLUMNS


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


def run_cli(path: Path, url: str, data_dir: str) -> tuple[dict[str, Any], float, float]:
    """(the CLI's JSON summary, its wall time in s, its peak RSS in MiB)."""
    env = {**os.environ, "MEMBER_API_DATABASE_URL": url, "MEMBER_API_DATA_DIR": data_dir, "MEMBER_API_DB_POOL": "2"}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "member_api.cli", "import-members", str(path), "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    assert child.returncode == 0, out
    return json.loads(out), wall, usage.ru_maxrss / 1024


async def copy_baseline(path: Path, runs: int) -> list[tuple[float, float]]:
    """(wall s, server CPU s) of ``COPY`` of the file, ``runs`` times into an emptied table of text columns."""
    times = []
    async with fresh_postgres(migrate=False) as url:
        conn = await asyncpg.connect(url)
        await conn.execute(f"CREATE TABLE import_copy ({', '.join(f'{c} text' for c in COLUMNS)})")
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        for _ in range(runs):
            await conn.execute("TRUNCATE import_copy")
            cpu, started = _backend_cpu_s(pid), time.perf_counter()
            await conn.copy_to_table("import_copy", source=str(path), format="csv", header=True)
            times.append((time.perf_counter() - started, _backend_cpu_s(pid) - cpu))
        await conn.close()
    return times


def _backend_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a local PostgreSQL backend (Linux /proc): unlike wall time, hardly moved by
    other load on the host."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def breakdown(path: Path, data_dir: str, copy_cpu: float) -> list[str]:
    """Where the time goes: the importer in this process, each statement's server CPU and wall time."""
    from member_api.members import importer, queries
    from member_api.settings import Settings

    spent: dict[str, list[float]] = {}
    labels = {sql: label for label, sql in vars(queries).items() if label.startswith("_") and isinstance(sql, str)}
    backend: list[int] = []

    def timed(name: str, fn: Any) -> Any:
        async def run(*args: Any) -> Any:
            if not backend:
                backend.append((await fetch("SELECT pg_backend_pid() AS p"))[0]["p"])
            cpu, wall = _backend_cpu_s(backend[0]), time.perf_counter()
            result = await fn(*args)
            entry = spent.setdefault(name or labels.get(str(args[0]), str(args[0])[:60]), [0.0, 0.0])
            entry[0] += _backend_cpu_s(backend[0]) - cpu
            entry[1] += time.perf_counter() - wall
            return result

        return run

    fetch, fetch_one, copy = queries.fetch, queries.fetch_one, queries.copy_records
    queries.fetch, queries.fetch_one = timed("", fetch), timed("", fetch_one)
    queries.copy_records = timed("COPY into the stage (binary)", copy)
    try:
        async with fresh_postgres():
            python = time.process_time()
            report = await importer.import_csv(Settings(data_dir=data_dir), path, progress=False)
            python = time.process_time() - python
    finally:
        queries.fetch, queries.fetch_one, queries.copy_records = fetch, fetch_one, copy
    lines = [
        f"breakdown (in-process import, fresh database): {report.summary()['seconds']}",
        f"  python CPU (read, validate, hash, encode COPY): {python:.2f} s",
    ]
    for name, (cpu, wall) in spent.items():
        if cpu >= 0.01 or wall >= 0.05:
            lines.append(f"  server CPU {cpu:6.2f} s, wall {wall:6.2f} s: {name}")
    server = sum(cpu for cpu, _ in spent.values())
    lines.append(
        f"CPU ratio (COPY server CPU {copy_cpu:.2f} s / import server {server:.2f} s + Python {python:.2f} s): "
        f"{copy_cpu / (server + python):.3f}"
    )
    return lines


async def export_registry(url: str) -> dict[str, bytes]:
    """The registry the importer wrote, as binary COPY data (what a loader with nothing left to check would send)."""
    conn = await asyncpg.connect(url)
    try:
        out = {}
        for table in ("member", "enrollment"):
            buffer = io.BytesIO()
            await conn.copy_from_table(table, output=buffer, format="binary")
            out[table] = buffer.getvalue()
        return out
    finally:
        await conn.close()


async def registry_floor(data: dict[str, bytes]) -> tuple[float, float]:
    """(wall s, server CPU s) of binary ``COPY`` of the imported rows straight into ``member`` and ``enrollment``
    of a fresh migrated database, in one transaction: the registry's own cost (heap, its indexes, the foreign keys)
    with no parsing, validation or hashing at all. No importer of this schema can be faster."""
    async with fresh_postgres() as url:
        conn = await asyncpg.connect(url)
        try:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            cpu, wall = _backend_cpu_s(pid), time.perf_counter()
            async with conn.transaction():
                for table in ("member", "enrollment"):
                    await conn.copy_to_table(table, source=io.BytesIO(data[table]), format="binary")
            return time.perf_counter() - wall, _backend_cpu_s(pid) - cpu
        finally:
            await conn.close()


async def main(rows: int, with_breakdown: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "members.csv"
        write_csv(path, rows)
        copies = await copy_baseline(path, 3)
        async with fresh_postgres() as url:
            first, first_wall, first_rss = run_cli(path, url, tmp)
            again, _, again_rss = run_cli(path, url, tmp)
            registry = await export_registry(url)
        floors = [await registry_floor(registry) for _ in range(3)]
        copies += await copy_baseline(path, 2)
        copy_cpu = statistics.median(cpu for _, cpu in copies)
        details = await breakdown(path, tmp, copy_cpu) if with_breakdown else []
    assert first["fatal"] is None and first["imported"] == rows, first
    assert again["updated"] == rows, again
    copy_s = statistics.median(wall for wall, _ in copies)
    import_s = first["seconds"]["total"]
    print(f"machine: {machine()}")
    print(f"rows: {rows:,}; file {path.name}; imported {first['imported']:,}, rejected {first['rejected']}")
    print(
        f"import-members:  {rows / import_s:>10,.0f} rows/s ({import_s:.1f} s: read+validate+hash+COPY "
        f"{first['seconds']['load']:.1f} s, duplicates+upsert {first['seconds']['upsert']:.1f} s; "
        f"process {first_wall:.1f} s); peak RSS {first_rss:.0f} MiB"
    )
    again_s = again["seconds"]["total"]
    print(
        f"re-import (all unchanged): {rows / again_s:>10,.0f} rows/s ({again_s:.1f} s: load "
        f"{again['seconds']['load']:.1f} s, upsert {again['seconds']['upsert']:.1f} s); peak RSS {again_rss:.0f} MiB"
    )
    runs = ", ".join(f"{wall:.2f}" for wall, _ in copies)
    print(
        f"COPY:            {rows / copy_s:>10,.0f} rows/s (median {copy_s:.2f} s of 3 runs before, 2 after: {runs}; "
        f"server CPU median {statistics.median(cpu for _, cpu in copies):.2f} s)"
    )
    print(f"ratio import/COPY: {copy_s / import_s:.3f}; re-import/COPY: {copy_s / again_s:.3f}")
    floor_s = statistics.median(wall for wall, _ in floors)
    print(
        f"floor (binary COPY of the finished rows into member + enrollment, no checks): {rows / floor_s:,.0f} rows/s "
        f"(median {floor_s:.2f} s of 3; server CPU {statistics.median(cpu for _, cpu in floors):.2f} s); "
        f"floor/COPY {copy_s / floor_s:.3f}; import/floor {floor_s / import_s:.3f}"
    )
    print("\n".join(details))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--breakdown", action="store_true", help="then server CPU per statement (local server)")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.breakdown))
