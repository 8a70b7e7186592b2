"""``member-api import-members FILE.csv``: stream the enrollment system's export into the registry.

Columns (header row required, UTF-8 with or without BOM):
insurance_no, name, id_number, sex (M/F), division, phone, guardian_insurance_no, year, paid_up (1/0), enrolled_on

How (issue 19): a worker thread reads the CSV and validates and hashes it in batches while the event loop loads the
previous batch into the staging table (COPY on PostgreSQL); then duplicates are found and the registry is upserted
set-based in SQL (``members.registry.apply_stage``). All of it is one transaction: a fatal error (unreadable file,
missing columns, an ID number that belongs to another insurance number in the registry) leaves the registry as it
was. Memory stays flat: a batch at a time, and at most ``SAMPLE`` rejections kept for the report.
"""

from __future__ import annotations

import asyncio
import csv
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from member_api.core.divisions import DIVISIONS
from member_api.core.keys import load_keyring
from member_api.db import UniqueViolation, write_transaction
from member_api.members import registry
from member_api.members.identity import id_problem, normalise_id, valid_phone
from member_api.members.registry import RegistryRow
from member_api.members.service import unbind_changed_phones
from member_api.settings import Settings

COLUMNS = (
    "insurance_no",
    "name",
    "id_number",
    "sex",
    "division",
    "phone",
    "guardian_insurance_no",
    "year",
    "paid_up",
    "enrolled_on",
)
BATCH = 20_000
"""Lines per batch: enough that COPY and the thread hand-off cost nothing per line, few enough for flat memory."""
SAMPLE = 1000
"""Rejections kept (the first ones, by line) for the report; all are counted."""
PAID_UP = frozenset(("1", "true", "Y", "y"))
_CACHE_LIMIT = 100_000


@dataclass
class Report:
    imported: int = 0
    updated: int = 0
    unbound: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """The first ``SAMPLE`` rejections by line: ``{"line": n, "reason": "..."}``."""
    rejected_count: int = 0
    lines: int = 0
    """Data lines read."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of the phases: ``load`` (read, validate, hash, COPY), ``upsert`` (duplicates and SQL), ``total``."""
    fatal: str | None = None

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < SAMPLE:
            self.rejected.append({"line": line, "reason": reason})

    def summary(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unbound_accounts": self.unbound,
            "rejected": self.rejected_count,
            "rejections": self.rejected[:SAMPLE],
            "fatal": self.fatal,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def parse_row(raw: dict[str, str]) -> RegistryRow | str:
    """A validated row, or the reason it is rejected (the reference; ``_Batcher`` has a faster path to the same)."""
    get = {k: (raw.get(k) or "").strip() for k in COLUMNS}
    if not get["insurance_no"] or not get["name"]:
        return "missing insurance_no or name"
    problem = id_problem(get["id_number"])
    if problem:
        return f"bad id_number: {problem}"
    if get["division"] not in DIVISIONS:
        return f"unknown division {get['division']!r}"
    if get["sex"] not in ("M", "F"):
        return "sex must be M or F"
    if get["phone"] and not valid_phone(get["phone"]):
        return "bad phone"
    year: int | None = None
    enrolled_on: date | None = None
    if get["year"]:
        try:
            year = int(get["year"])
            enrolled_on = date.fromisoformat(get["enrolled_on"])
        except ValueError:
            return "bad date or year"
    return RegistryRow(
        insurance_no=get["insurance_no"],
        name=get["name"],
        id_number=normalise_id(get["id_number"]),
        sex=get["sex"],
        division=get["division"],
        phone=get["phone"] or None,
        guardian_insurance_no=get["guardian_insurance_no"] or None,
        year=year,
        paid_up=get["paid_up"] in PAID_UP,
        enrolled_on=enrolled_on,
    )


_ASCII_ID = re.compile(r"[0-9]{17}[0-9X]\Z")
_CHECK = "10X98765432"


def fast_check_digit(first17: str) -> str:
    """GB 11643's check digit: the weights are 2^k mod 11, so the weighted sum is the digits read in base 2 -- and
    base 13 is the same modulo 11 (13 = 2 mod 11), which ``int(s, 13)`` reads in C. Equals ``identity.check_digit``.
    """
    return _CHECK[(2 * int(first17, 13)) % 11]


@dataclass
class Batch:
    records: list[tuple[object, ...]]
    lines: int
    """Data lines read so far (all batches)."""
    position: int
    """Bytes of the file read so far (for the progress bar)."""


class _Batcher:
    """Reads, validates and hashes the CSV a batch at a time (runs in a worker thread).

    A line takes the fast path when every check passes with plain string operations and small caches (birth dates,
    enrollment dates); anything else goes through ``parse_row``, which says why it is rejected (or, for the odd
    valid line the fast path declines, such as a non-ASCII digit, builds it the slow way).
    """

    def __init__(self, settings: Settings, header: list[str], report: Report) -> None:
        self.records = registry.StageRecords(load_keyring(settings.resolved_key_dir))
        self.report = report
        index = {name: i for i, name in enumerate(header)}  # a repeated column: the last one wins, as in DictReader
        self.width = len(header)
        self.index = tuple(index[c] for c in COLUMNS)
        self.births: dict[str, date] = {}
        self.dates: dict[tuple[str, str], tuple[int, date]] = {}

    def batches(self, reader: Iterator[list[str]], line_no: Any, handle: IO[str]) -> Iterator[Batch]:
        fast = self._fast
        report = self.report
        records: list[tuple[object, ...]] = []
        subjects = registry.credential_subjects(BATCH)
        lines = 0
        for row in reader:
            if not row:
                continue  # a blank line (DictReader skips them too)
            lines += 1
            line = line_no()
            if len(row) < self.width:
                row = row + [""] * (self.width - len(row))
            record = fast(row, line, subjects[len(records)])
            if record is None:
                record = self._slow(row, line, subjects[len(records)])
            if isinstance(record, str):
                report.reject(line, record)
                continue
            records.append(record)
            if len(records) == BATCH:
                yield Batch(records, lines, handle.buffer.tell())
                records, subjects = [], registry.credential_subjects(BATCH)
        yield Batch(records, lines, handle.buffer.tell())

    def _fast(self, row: list[str], line: int, subject: str) -> tuple[object, ...] | None:
        i_no, i_name, i_id, i_sex, i_div, i_phone, i_guard, i_year, i_paid, i_enr = self.index
        insurance_no = row[i_no].strip()
        name = row[i_name].strip()
        id_number = row[i_id].strip().upper()
        sex = row[i_sex].strip()
        division = row[i_div].strip()
        phone = row[i_phone].strip()
        if not (insurance_no and name and _ASCII_ID.match(id_number) and division in DIVISIONS):
            return None
        if (sex != "M" and sex != "F") or (phone and not valid_phone(phone)):
            return None
        if fast_check_digit(id_number[:17]) != id_number[17]:
            return None
        birth = self.births.get(id_number[6:14])
        if birth is None:
            try:
                birth = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
            except ValueError:
                return None
            if len(self.births) < _CACHE_LIMIT:
                self.births[id_number[6:14]] = birth
        year_text = row[i_year].strip()
        year: int | None = None
        enrolled_on: date | None = None
        if year_text:
            key = (year_text, row[i_enr].strip())
            known = self.dates.get(key)
            if known is None:
                try:
                    known = (int(year_text), date.fromisoformat(key[1]))
                except ValueError:
                    return None
                if len(self.dates) < _CACHE_LIMIT:
                    self.dates[key] = known
            year, enrolled_on = known
        records = self.records
        return (
            line,
            insurance_no,
            name,
            records.hash_id(id_number),
            id_number[:4] + "**********" + id_number[14:],
            birth,
            sex,
            division,
            records.hash_phone(phone) if phone else None,
            phone[:3] + "****" + phone[-4:] if phone else "",
            subject,
            row[i_guard].strip() or None,
            year,
            row[i_paid].strip() in PAID_UP,
            enrolled_on,
        )

    def _slow(self, row: list[str], line: int, subject: str) -> tuple[object, ...] | str:
        parsed = parse_row(dict(zip(COLUMNS, (row[i] for i in self.index), strict=True)))
        return parsed if isinstance(parsed, str) else self.records.of(line, parsed, subject)


class _Bar:
    """The progress bar (rich), on stderr: bytes of the file read, rows, rows per second, rejections."""

    def __init__(self, path: Path, report: Report) -> None:
        # rich draws the CLI's progress bar only; the API never loads it.
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.report = report
        self.started = time.monotonic()
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[lines]:>11,} rows {task.fields[rate]:>9,.0f} rows/s"),
            TextColumn("{task.fields[rejected]:,} rejected"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.task = self.progress.add_task(
            f"import {path.name}", total=max(path.stat().st_size, 1), lines=0, rate=0.0, rejected=0
        )
        self.progress.start()

    def update(self, batch: Batch) -> None:
        rate = batch.lines / max(time.monotonic() - self.started, 1e-6)
        self.progress.update(
            self.task, completed=batch.position, lines=batch.lines, rate=rate, rejected=self.report.rejected_count
        )

    def phase(self, description: str) -> None:
        self.progress.update(self.task, description=description, rejected=self.report.rejected_count)

    def stop(self) -> None:
        self.progress.update(self.task, rejected=self.report.rejected_count)
        self.progress.stop()


async def import_csv(settings: Settings, path: Path, progress: bool = True) -> Report:
    """One transaction for the whole file: a fatal error leaves the registry as it was."""
    report = Report()
    bar: _Bar | None = None
    started = time.perf_counter()
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None) or []
            missing = set(COLUMNS) - set(header)
            if missing:
                raise ValueError(f"missing columns: {', '.join(sorted(missing))}")
            batches = _Batcher(settings, header, report).batches(reader, lambda: reader.line_num, handle)
            bar = _Bar(path, report) if progress else None
            async with write_transaction():
                await registry.begin_stage()
                await _load(batches, report, bar)
                report.seconds["load"] = time.perf_counter() - started
                if bar:
                    bar.phase("upserting members, guardians, enrollments")
                duplicates, lines = await registry.reject_duplicates(SAMPLE)
                counts = await registry.apply_stage()
                # A phone change in the registry unbinds the phone accounts that no longer match it.
                report.unbound = await unbind_changed_phones(counts.phone_changes, datetime.now(UTC))
                await registry.end_stage()
        report.seconds["total"] = time.perf_counter() - started
        report.seconds["upsert"] = report.seconds["total"] - report.seconds["load"]
        report.imported, report.updated = counts.inserted, counts.updated
        _add_duplicates(report, duplicates, lines)
        if bar:
            bar.phase(f"imported {path.name}")
    except UniqueViolation:
        report.fatal = "an ID number in the file belongs to another insurance number in the registry"
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        report.fatal = str(exc)
    finally:
        if bar:
            bar.stop()
    if report.fatal:
        report.imported = report.updated = report.unbound = 0
    return report


async def _load(batches: Iterator[Batch], report: Report, bar: _Bar | None) -> None:
    """Parse batch n+1 in a worker thread while batch n is copied into the stage."""
    pending = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
    try:
        while (batch := await pending) is not None:
            pending = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            report.lines = batch.lines
            await registry.stage(batch.records)
            if bar:
                bar.update(batch)
    finally:
        if not pending.done():  # an error while copying: let the thread finish its batch before the file closes
            await asyncio.wait([pending])
            if not pending.cancelled():
                pending.exception()


def _add_duplicates(report: Report, count: int, lines: list[int]) -> None:
    """Duplicates are found in SQL after the file is read; merge them into the line-ordered sample."""
    if not count:
        return
    report.rejected_count += count
    merged = report.rejected + [{"line": line, "reason": "duplicate in file"} for line in lines]
    report.rejected = sorted(merged, key=lambda r: r["line"])[:SAMPLE]
