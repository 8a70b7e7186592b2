"""The catalogue's one public face: value a bill's lines (R18), search entries, import the national files.

Other areas (settlement, claims, fsi) value lines here and pay them with ``policy.reimbursement``; the shapes they
answer with (``ItemView``) come from here too, so a line reads the same at the counter, in a claim and in FHIR.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from member_api.catalogue import importer, queries
from member_api.catalogue.importer import RowError
from member_api.catalogue.schemas import ITEM_COLUMNS, CataloguePage, EntryView, FeeLineIn, ImportReport, ItemView
from member_api.core import labels
from member_api.core.errors import DomainError, FieldError
from member_api.db import write_transaction
from member_api.policy import parameters
from member_api.policy.fee_lines import Entry, FeeLine, LineProblem, ValuedLine, line_problems
from member_api.policy.fee_lines import value_lines as _value_lines

# A line's reasons in words: R18's own, and the visit's (R3, R6) as they apply to a line (the one label table).
LINE_REASONS = {**labels.REASONS, **labels.LINE_REASONS}
IMPORT_BATCH = 2000
SEARCH_LIMIT = 50
SAMPLE = Path(__file__).resolve().parent / "sample"
SAMPLE_FILES = ("drugs.csv", "services.csv", "consumables.csv")
"""A small real-looking extract (codes in the national format) for the demo and the tests."""
SAMPLE_FACILITY_CODES = SAMPLE / "facility_codes.csv"


async def import_sample(now: datetime, facility_ids: Sequence[int] = ()) -> list[ImportReport]:
    """The shipped sample catalogue, and its facility code mapping for each given facility (idempotent)."""
    reports = [await import_catalogue(SAMPLE / name, now) for name in SAMPLE_FILES]
    for facility_id in facility_ids:
        reports.append(await import_facility_codes(SAMPLE_FACILITY_CODES, facility_id, now))
    return reports


def _entry(row: dict[str, Any]) -> Entry:
    return Entry(
        code=row["code"],
        name=row["name"],
        kind=row["kind"],
        category=row["category"],
        selfpay_prop_bp=row["selfpay_prop_bp"],
        price_ceiling_fen=row["price_ceiling_fen"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
    )


async def versions_of(codes: Sequence[str]) -> dict[str, list[Entry]]:
    """Every stored version of each code (one indexed query); codes not in the catalogue are absent."""
    found: dict[str, list[Entry]] = defaultdict(list)
    for row in await queries.versions(list(codes)):
        found[row["code"]].append(_entry(row))
    return dict(found)


def general_fee_codes(day: date) -> tuple[str, ...]:
    """R6: the general diagnosis fee's service codes of the policy year of ``day`` (none outside every year)."""
    try:
        return tuple(parameters.for_date(day).general_fee_codes)
    except parameters.NoPolicyYear:
        return ()


async def value_lines(lines: Sequence[FeeLine], date_of_care: date, facility_id: int | None) -> list[ValuedLine]:
    """R18: each line valued with the entry valid on the date of care; a line given by the facility's own code only
    is first mapped to its national code (unmapped: a self-paid line). Two queries at most, whatever the bill's size.

    Callers check the lines first (``check_lines``); the fund's share is ``policy.reimbursement.reimburse_lines``'s.
    """
    unresolved = [ln.facility_code for ln in lines if not ln.code and ln.facility_code]
    if unresolved and facility_id is not None:
        mapped = await queries.mapped_codes(facility_id, [c for c in unresolved if c])
        lines = [
            _with_code(ln, mapped.get(ln.facility_code or "", "")) if not ln.code and ln.facility_code else ln
            for ln in lines
        ]
    catalogue = await versions_of([ln.code for ln in lines if ln.code])
    return _value_lines(lines, catalogue, date_of_care, general_fee_codes(date_of_care))


def _with_code(line: FeeLine, code: str) -> FeeLine:
    return FeeLine(
        line_no=line.line_no,
        code=code,
        count=line.count,
        unit_price_fen=line.unit_price_fen,
        facility_code=line.facility_code,
        claimed_category=line.claimed_category,
    )


def fee_lines(items: Sequence[FeeLineIn], field: str = "items") -> list[FeeLine]:
    """Request lines as the policy's lines, checked: 422 ``invalid_items`` naming each bad line (``field``: where
    the lines are in the body)."""
    lines = [
        FeeLine(
            line_no=i.line_no,
            code=i.code.strip().upper(),
            count=i.count,
            unit_price_fen=i.unit_price_fen,
            facility_code=(i.facility_code or "").strip() or None,
            claimed_category=i.chrgitm_lv,
        )
        for i in items
    ]
    check_lines(lines, field)
    return lines


_PROBLEM_WORDS = {
    "not_positive": ("必须大于 0", "must be positive"),
    "too_large": ("超出上限", "is too large"),
    "too_many_decimals": ("小数位过多（数量最多 2 位，单价以分为单位）", "has too many decimals"),
    "duplicate_line_no": ("行号重复", "is used twice"),
    "too_many_lines": ("明细行数超出上限", "is beyond the most lines a bill may carry"),
    "missing_code": ("缺少医保目录编码或本院项目编码", "needs a code or a facility code"),
}


def check_lines(lines: Sequence[FeeLine], field: str = "items") -> None:
    """Bad lines are refused (422 ``invalid_items``) naming the line number and field of each; unknown codes pass."""
    problems = line_problems(lines)
    problems += [
        LineProblem(line_no=ln.line_no, index=n, field="code", code="missing_code")
        for n, ln in enumerate(lines)
        if not ln.code and not ln.facility_code
    ]
    if not problems:
        return
    errors = []
    for p in problems:
        zh, en = _PROBLEM_WORDS.get(p.code, (p.code, p.code))
        errors.append(FieldError(field=f"{field}[{p.index}].{p.field}", message=f"line {p.line_no}: {p.field} {en}"))
    first = problems[0]
    zh, en = _PROBLEM_WORDS.get(first.code, (first.code, first.code))
    raise DomainError(
        "invalid_items",
        f"费用明细第 {first.line_no} 行：{zh}",
        f"Bill line {first.line_no}: {first.field} {en}.",
        errors=errors,
        extra={"lines": sorted({p.line_no for p in problems})},
    )


def reason_words(reasons: Sequence[str]) -> tuple[str, str]:
    """The line's reasons in words (zh, en); an unknown code reads as itself."""
    words = [LINE_REASONS.get(r, labels.Label(r, r)) for r in reasons]
    zh = "；".join(w.zh for w in words)
    en = " ".join(w.en for w in words)
    return zh, en


def item_view(line: ValuedLine) -> ItemView:
    """A valued line (``PaidLine`` when its fund share is known) as every body shows it, reasons in words."""
    zh, en = reason_words(line.reasons)
    return ItemView(
        line_no=line.line_no,
        code=line.code,
        facility_code=line.facility_code,
        name=line.name,
        kind=line.kind,
        category=line.category,
        count=float(line.count),
        unit_price_fen=int(line.unit_price_fen),
        amount_fen=line.amount_fen,
        price_ceiling_fen=line.price_ceiling_fen,
        selfpay_prop_bp=line.selfpay_prop_bp,
        over_limit_fen=line.over_limit_fen,
        preselfpay_fen=line.preselfpay_fen,
        selfpay_fen=line.selfpay_fen,
        compliant_fen=line.compliant_fen,
        ratio_bp=getattr(line, "ratio_bp", 0),
        fund_fen=getattr(line, "fund_fen", 0),
        general_fee=line.general_fee,
        reasons=list(line.reasons),
        reason_zh=zh,
        reason_en=en,
    )


def stored_item_view(row: dict[str, Any]) -> ItemView:
    """A stored line (``ITEM_COLUMNS``) as it was valued and paid, its reasons in today's words."""
    reasons = row["reasons"]
    if isinstance(reasons, str | bytes):
        reasons = msgspec.json.decode(reasons)
    zh, en = reason_words(reasons)
    values = {c: row[c] for c in ITEM_COLUMNS}
    values.update(count=float(row["count"]), general_fee=bool(row["general_fee"]), reasons=list(reasons))
    return ItemView(**values, reason_zh=zh, reason_en=en)


def valued_line_of(row: dict[str, Any]) -> ValuedLine:
    """A stored line back as the policy's valued line (to pay it as it was valued, e.g. a claimed visit's)."""
    reasons = row["reasons"]
    if isinstance(reasons, str | bytes):
        reasons = msgspec.json.decode(reasons)
    values = {c: row[c] for c in ITEM_COLUMNS if c in ValuedLine.__struct_fields__}
    values.update(count=Decimal(row["count"]), general_fee=bool(row["general_fee"]), reasons=list(reasons))
    return ValuedLine(**values)


def item_row(line: ValuedLine) -> tuple[object, ...]:
    """A valued (or paid) line in ``ITEM_COLUMNS`` order, for a store to insert."""
    values = {c: getattr(line, c, 0) for c in ITEM_COLUMNS}
    values.update(
        count=Decimal(line.count),
        unit_price_fen=int(line.unit_price_fen),
        reasons=msgspec.json.encode(list(line.reasons)).decode(),
    )
    return tuple(values[c] for c in ITEM_COLUMNS)


# ---- search ----------------------------------------------------------------------------------------------------


async def search(q: str, on: date, facility_id: int | None = None, limit: int = SEARCH_LIMIT) -> CataloguePage:
    """Entries valid on ``on`` by code prefix, name, pinyin initials, or (with a facility) its own code prefix."""
    text = q.strip()
    if not text:
        return CataloguePage(items=[], on=on)
    rows = await queries.search(text, on, limit, facility_id)
    own = await queries.facility_codes_of(facility_id, [r["code"] for r in rows]) if facility_id else {}
    return CataloguePage(
        items=[
            EntryView(
                code=r["code"],
                name=r["name"],
                kind=r["kind"],
                category=r["category"],
                selfpay_prop_bp=r["selfpay_prop_bp"],
                price_ceiling_fen=r["price_ceiling_fen"],
                spec=r["spec"],
                valid_from=r["valid_from"],
                valid_to=r["valid_to"],
                facility_code=own.get(r["code"]),
            )
            for r in rows
        ],
        on=on,
    )


# ---- imports -----------------------------------------------------------------------------------------------------


class _Counts:
    def __init__(self) -> None:
        self.rows = self.added = self.closed = self.corrected = self.unchanged = self.rejected = 0
        self.rejected_rows: list[str] = []

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejected_rows) < 50:
            self.rejected_rows.append(f"line {line}: {reason}")

    def report(self, file: str, encoding: str) -> ImportReport:
        return ImportReport(
            file=file,
            encoding=encoding,
            rows=self.rows,
            added=self.added,
            closed=self.closed,
            corrected=self.corrected,
            unchanged=self.unchanged,
            rejected=self.rejected,
            rejected_rows=self.rejected_rows,
        )


_Extra = tuple[str, str]  # (spec, initials)


async def import_catalogue(
    path: Path, now: datetime, kind: str | None = None, data: bytes | None = None
) -> ImportReport:
    """Import a national catalogue file (drugs, consumables or services; CSV, UTF-8 or GB18030).

    Idempotent: versions equal to the stored ones are left alone; a version starting later than the one in force
    closes it the day before (the old values stay for lines of earlier dates); a changed version with the same
    start is corrected in place. Codes missing from the file are not touched (a file may hold one list only).
    """
    text, encoding = importer.decode(data if data is not None else await asyncio.to_thread(path.read_bytes))
    counts = _Counts()
    batch: dict[str, list[tuple[Entry, _Extra]]] = {}
    size = 0
    for line, row in importer.rows(text):
        counts.rows += 1
        try:
            version = importer.entry(row, kind)
        except RowError as exc:
            counts.reject(line, str(exc))
            continue
        extra = (importer.spec_of(row), importer.initials_of(row, version.name))
        batch.setdefault(version.code, []).append((version, extra))
        size += 1
        if size >= IMPORT_BATCH:
            await _store(batch, path.name, now, counts)
            batch, size = {}, 0
    if batch:
        await _store(batch, path.name, now, counts)
    return counts.report(path.name, encoding)


def _same(stored: dict[str, Any], version: Entry, extra: _Extra) -> bool:
    return _entry(stored) == version and (stored["spec"], stored["initials"]) == extra


async def _store(batch: dict[str, list[tuple[Entry, _Extra]]], source: str, now: datetime, counts: _Counts) -> None:
    """Merge one batch of codes with their stored versions and write the difference (one insert, one update)."""
    async with write_transaction():
        stored_rows: dict[str, dict[date, dict[str, Any]]] = defaultdict(dict)
        for row in await queries.versions(list(batch)):
            stored_rows[row["code"]][row["valid_from"]] = row
        inserts: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []
        for code, incoming in batch.items():
            stored = stored_rows.get(code, {})
            extras = {v.valid_from: extra for v, extra in incoming}
            for row in stored.values():
                extras.setdefault(row["valid_from"], (row["spec"], row["initials"]))
            merged = importer.merged([_entry(r) for r in stored.values()], [v for v, _ in incoming])
            new_starts = {v.valid_from for v, _ in incoming}
            for version in merged:
                spec, initials = extras[version.valid_from]
                old = stored.get(version.valid_from)
                if old is None:
                    inserts.append(_insert_row(version, spec, initials, source, now))
                    counts.added += 1
                elif _same(old, version, (spec, initials)):
                    if version.valid_from in new_starts:
                        counts.unchanged += 1
                else:
                    updates.append(
                        (
                            version.name,
                            version.kind,
                            version.category,
                            version.selfpay_prop_bp,
                            version.price_ceiling_fen,
                            spec,
                            initials,
                            version.valid_to,
                            source,
                            now,
                            old["id"],
                        )
                    )
                    only_closed = _entry(old) == _closed_copy(version, old["valid_to"])
                    if only_closed and version.valid_from not in new_starts:
                        counts.closed += 1
                    else:
                        counts.corrected += 1
        await queries.insert_entries(inserts)
        await queries.update_entries(updates)


def _closed_copy(version: Entry, valid_to: date | None) -> Entry:
    return Entry(**{**{f: getattr(version, f) for f in version.__struct_fields__}, "valid_to": valid_to})


def _insert_row(version: Entry, spec: str, initials: str, source: str, now: datetime) -> tuple[object, ...]:
    return (
        version.code,
        version.name,
        version.kind,
        version.category,
        version.selfpay_prop_bp,
        version.price_ceiling_fen,
        spec,
        initials,
        version.valid_from,
        version.valid_to,
        source,
        now,
    )


async def import_facility_codes(path: Path, facility_id: int, now: datetime, data: bytes | None = None) -> ImportReport:
    """Import a facility's code mapping (``medins_list_codg`` -> ``med_list_codg``, optional ``medins_list_name``).

    Idempotent: a mapping equal to the stored one is left alone, a changed one replaced.
    """
    text, encoding = importer.decode(data if data is not None else await asyncio.to_thread(path.read_bytes))
    counts = _Counts()
    wanted: dict[str, tuple[str, str]] = {}
    for line, row in importer.rows(text):
        counts.rows += 1
        own, code = row.get("medins_list_codg", ""), row.get("med_list_codg", "").upper()
        if not own or not code or len(own) > 50 or len(code) > 50:
            counts.reject(line, "medins_list_codg and med_list_codg are needed (at most 50 characters)")
            continue
        wanted[own] = (code, row.get("medins_list_name", "")[:200])
    items = list(wanted.items())
    for start in range(0, len(items), IMPORT_BATCH):
        chunk = dict(items[start : start + IMPORT_BATCH])
        async with write_transaction():
            stored = await queries.facility_mapping(facility_id, list(chunk))
            inserts, updates = [], []
            for own, (code, name) in chunk.items():
                old = stored.get(own)
                if old is None:
                    inserts.append((facility_id, own, code, name, now))
                    counts.added += 1
                elif (old["code"], old["name"]) == (code, name):
                    counts.unchanged += 1
                else:
                    updates.append((code, name, now, old["id"]))
                    counts.corrected += 1
            await queries.insert_mappings(inserts)
            await queries.update_mappings(updates)
    return counts.report(path.name, encoding)
