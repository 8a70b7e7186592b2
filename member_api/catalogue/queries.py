"""All data access of the catalogue area, as named functions (hand-written SQL, ``{}`` placeholders)."""

from __future__ import annotations

from datetime import date
from typing import Any

from member_api.db import copy_records, execute_many, fetch

ENTRY_COLUMNS = (
    "id, code, name, kind, category, selfpay_prop_bp, price_ceiling_fen, spec, initials, valid_from, valid_to, source"
)
INSERT_COLUMNS = (
    "code",
    "name",
    "kind",
    "category",
    "selfpay_prop_bp",
    "price_ceiling_fen",
    "spec",
    "initials",
    "valid_from",
    "valid_to",
    "source",
    "imported_at",
)


def _marks(values: list[Any]) -> str:
    return ", ".join("{}" for _ in values)


async def versions(codes: list[str]) -> list[dict[str, Any]]:
    """Every version of the given national codes (a bill's codes: one indexed lookup)."""
    wanted = sorted(set(codes))
    if not wanted:
        return []
    return await fetch(
        f"SELECT {ENTRY_COLUMNS} FROM catalogue_entry WHERE code IN ({_marks(wanted)})",  # noqa: S608 - marks only
        *wanted,
    )


async def mapped_codes(facility_id: int, facility_codes: list[str]) -> dict[str, str]:
    """The national code of each of a facility's own codes that is mapped."""
    wanted = sorted(set(facility_codes))
    if not wanted:
        return {}
    rows = await fetch(
        "SELECT facility_code, code FROM catalogue_facility_code"  # noqa: S608 - marks only
        f" WHERE facility_id = {{}} AND facility_code IN ({_marks(wanted)})",
        facility_id,
        *wanted,
    )
    return {r["facility_code"]: r["code"] for r in rows}


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(text: str, on: date, limit: int, facility_id: int | None) -> list[dict[str, Any]]:
    """Entries valid on ``on`` whose code or (with a facility) mapped facility code starts with ``text``, whose name
    holds it, or whose pinyin initials start with it; exact codes first, then by code."""
    prefix_code, prefix_initials, inside = f"{_like(text.upper())}%", f"{_like(text.lower())}%", f"%{_like(text)}%"
    args: list[Any] = [on, on, prefix_code, inside, prefix_initials]
    mapped = ""
    if facility_id is not None:
        mapped = (
            " OR code IN (SELECT m.code FROM catalogue_facility_code m"
            " WHERE m.facility_id = {} AND m.facility_code LIKE {} ESCAPE '\\')"
        )
        args += [facility_id, prefix_code]
    args += [text.upper(), limit]
    return await fetch(
        f"SELECT {ENTRY_COLUMNS} FROM catalogue_entry"  # noqa: S608 - constants and marks only
        " WHERE valid_from <= {} AND (valid_to IS NULL OR valid_to >= {})"
        " AND (code LIKE {} ESCAPE '\\' OR name LIKE {} ESCAPE '\\' OR initials LIKE {} ESCAPE '\\'" + mapped + ")"
        " ORDER BY CASE WHEN code = {} THEN 0 ELSE 1 END, code LIMIT {}",
        *args,
    )


async def facility_codes_of(facility_id: int, codes: list[str]) -> dict[str, str]:
    """A facility's own code for each of the given national codes (one per code, the smallest if several)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = await fetch(
        "SELECT code, MIN(facility_code) AS facility_code FROM catalogue_facility_code"  # noqa: S608 - marks only
        f" WHERE facility_id = {{}} AND code IN ({_marks(wanted)}) GROUP BY code",
        facility_id,
        *wanted,
    )
    return {r["code"]: r["facility_code"] for r in rows}


async def insert_entries(rows: list[tuple[object, ...]]) -> None:
    """New versions, in INSERT_COLUMNS order: one bulk statement (COPY on PostgreSQL for large batches)."""
    await copy_records("catalogue_entry", INSERT_COLUMNS, rows)


async def update_entries(rows: list[tuple[object, ...]]) -> None:
    """Versions changed by a re-import (closed by a newer one, or corrected): (name, kind, category, selfpay_prop_bp,
    price_ceiling_fen, spec, initials, valid_to, source, imported_at, id)."""
    await execute_many(
        "UPDATE catalogue_entry SET name = {}, kind = {}, category = {}, selfpay_prop_bp = {}, price_ceiling_fen = {},"
        " spec = {}, initials = {}, valid_to = {}, source = {}, imported_at = {} WHERE id = {}",
        rows,
    )


async def facility_mapping(facility_id: int, facility_codes: list[str]) -> dict[str, dict[str, Any]]:
    wanted = sorted(set(facility_codes))
    if not wanted:
        return {}
    rows = await fetch(
        "SELECT id, facility_code, code, name FROM catalogue_facility_code"  # noqa: S608 - marks only
        f" WHERE facility_id = {{}} AND facility_code IN ({_marks(wanted)})",
        facility_id,
        *wanted,
    )
    return {r["facility_code"]: r for r in rows}


async def insert_mappings(rows: list[tuple[object, ...]]) -> None:
    """(facility_id, facility_code, code, name, updated_at) rows."""
    await copy_records("catalogue_facility_code", ("facility_id", "facility_code", "code", "name", "updated_at"), rows)


async def update_mappings(rows: list[tuple[object, ...]]) -> None:
    """(code, name, updated_at, id) rows."""
    await execute_many("UPDATE catalogue_facility_code SET code = {}, name = {}, updated_at = {} WHERE id = {}", rows)


async def entry_count() -> int:
    rows = await fetch("SELECT COUNT(*) AS n FROM catalogue_entry")
    return int(rows[0]["n"])
