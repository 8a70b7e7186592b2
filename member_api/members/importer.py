"""``member-api import-members FILE.csv``: stream the enrollment system's export into the registry.

Columns (header row required, UTF-8 with or without BOM):
insurance_no, name, id_number, sex (M/F), division, phone, guardian_insurance_no, year, paid_up (1/0), enrolled_on
"""

from __future__ import annotations

import csv
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from member_api.core.divisions import DIVISIONS
from member_api.core.keys import load_keyring
from member_api.db import write_transaction
from member_api.members.identity import id_problem, normalise_id, valid_phone
from member_api.members.registry import RegistryRow, upsert
from member_api.members.service import unbind_changed_phones
from member_api.members.tables import Member
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
BATCH = 1000


@dataclass
class Report:
    imported: int = 0
    updated: int = 0
    unbound: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    fatal: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unbound_accounts": self.unbound,
            "rejected": len(self.rejected),
            "rejections": self.rejected[:1000],
            "fatal": self.fatal,
        }


def parse_row(raw: dict[str, str]) -> RegistryRow | str:
    """A validated row, or the reason it is rejected."""
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
        paid_up=get["paid_up"] in ("1", "true", "Y", "y"),
        enrolled_on=enrolled_on,
    )


async def import_csv(settings: Settings, path: Path, progress: bool = True) -> Report:
    """One transaction for the whole file: a fatal error leaves the registry as it was."""
    keyring = load_keyring(settings.resolved_key_dir)
    report = Report()
    seen_rows: set[tuple[str, int | None]] = set()
    id_owner: dict[str, str] = {}
    started = time.monotonic()
    try:
        async with write_transaction():
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                missing = set(COLUMNS) - set(reader.fieldnames or [])
                if missing:
                    raise ValueError(f"missing columns: {', '.join(sorted(missing))}")
                batch: list[RegistryRow] = []
                for line_no, raw in enumerate(reader, start=2):
                    parsed = parse_row(raw)
                    if isinstance(parsed, RegistryRow):
                        owner = id_owner.setdefault(parsed.id_number, parsed.insurance_no)
                        if (parsed.insurance_no, parsed.year) in seen_rows or owner != parsed.insurance_no:
                            parsed = "duplicate in file"
                        else:
                            seen_rows.add((parsed.insurance_no, parsed.year))
                    if isinstance(parsed, str):
                        report.rejected.append({"line": line_no, "reason": parsed})
                        continue
                    batch.append(parsed)
                    if len(batch) >= BATCH:
                        await _flush(keyring, batch, report, progress, started)
                await _flush(keyring, batch, report, progress, started)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        report.fatal = str(exc)
        report.imported = report.updated = report.unbound = 0
    return report


async def _flush(keyring: Any, batch: list[RegistryRow], report: Report, progress: bool, started: float) -> None:
    numbers = list({r.insurance_no for r in batch})
    before = (
        {
            m["insurance_no"]: (m["id"], m["phone_hash"])
            for m in await Member.select(Member.id, Member.insurance_no, Member.phone_hash).where(
                Member.insurance_no.is_in(numbers)
            )
        }
        if numbers
        else {}
    )
    counts = await upsert(keyring, batch)
    # A phone change in the registry unbinds the phone accounts that no longer match it.
    phones = {r.insurance_no: keyring.keyed_hash("phone", r.phone) if r.phone else None for r in batch}
    changes = [(member_id, phones[no]) for no, (member_id, old) in before.items() if old != phones[no]]
    report.unbound += await unbind_changed_phones(changes, datetime.now(UTC))
    report.imported += counts.inserted
    report.updated += counts.updated
    batch.clear()
    if progress:
        done = report.imported + report.updated
        rate = done / max(time.monotonic() - started, 1e-6)
        print(f"\r{done} rows ({rate:,.0f}/s), {len(report.rejected)} rejected", end="", file=sys.stderr, flush=True)
