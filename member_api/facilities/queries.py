"""Data access of the facilities area (hand-written SQL and piccolo builder calls), as named functions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from member_api.core.errors import not_found
from member_api.db import fetch, fetch_one
from member_api.facilities.tables import Facility


async def facility_row(facility_id: int) -> dict[str, Any]:
    """What the policy engine and a receipt need of a facility: id, name, kind, tier, in_city."""
    row = await fetch_one("SELECT id, name, kind, tier, in_city FROM facility WHERE id = {}", facility_id)
    if row is None:
        raise not_found("医疗机构", "facility")
    return row


async def facilities_by_id(ids: list[int]) -> dict[int, dict[str, Any]]:
    """Catalogue rows (every column, inactive ones too: old records still name them) by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    marks = ", ".join("{}" for _ in wanted)
    rows = await fetch(f"SELECT * FROM facility WHERE id IN ({marks})", *wanted)  # noqa: S608 - placeholders only
    return {r["id"]: r for r in rows}


async def has_designation_from(member_id: int, year: int, sources: tuple[str, ...]) -> bool:
    """Whether any of the member's designation rows of ``year`` came from one of ``sources``."""
    marks = ", ".join("{}" for _ in sources)
    row = await fetch_one(
        f"SELECT 1 AS hit FROM designation WHERE member = {{}} AND year = {{}} AND source IN ({marks}) LIMIT 1",  # noqa: S608
        member_id,
        year,
        *sources,
    )
    return row is not None


# A period [from, to) holding a day. The statements below are built from constants only (hence the noqa).
# A designation belongs to one policy year (R2): last year's open row is not in force this year until carried over.
IN_FORCE_ON = "year = {} AND valid_from <= {} AND (valid_to IS NULL OR valid_to > {})"
_DESIGNATION_COLUMNS = (
    "id, member, year, institution, station, valid_from, valid_to, source, change_request, created_at,"
    " made_by, made_by_facility"
)
_DESIGNATION_ON = (
    f"SELECT {_DESIGNATION_COLUMNS} FROM designation WHERE member = {{}} AND {IN_FORCE_ON}"  # noqa: S608
    " ORDER BY valid_from DESC LIMIT 1"
)
_HEADCOUNT_ON = (
    "SELECT institution, COUNT(DISTINCT member) AS members FROM designation"  # noqa: S608
    f" WHERE {IN_FORCE_ON} GROUP BY institution"
)
# Last year's open pair of members enrolled and paid up this year who have no row this year yet.
_CARRY_FROM = (
    " FROM designation d JOIN enrollment e ON e.member = d.member AND e.year = {} AND e.paid_up"
    " WHERE d.year = {} AND (d.valid_to IS NULL OR d.valid_to > {})"
    " AND NOT EXISTS (SELECT 1 FROM designation x WHERE x.member = d.member AND x.year = {})"
)


async def designations_of_year(member_id: int, year: int) -> list[dict[str, Any]]:
    """Every designation row of the member for ``year`` (a handful at most: the choice, its changes), newest
    period first."""
    return await fetch(
        f"SELECT {_DESIGNATION_COLUMNS} FROM designation WHERE member = {{}} AND year = {{}}"  # noqa: S608
        " ORDER BY valid_from DESC, id DESC",
        member_id,
        year,
    )


async def designation_on(member_id: int, day: date) -> dict[str, Any] | None:
    return await fetch_one(_DESIGNATION_ON, member_id, day.year, day, day)


async def headcount_on(day: date) -> dict[int, int]:
    return {r["institution"]: r["members"] for r in await fetch(_HEADCOUNT_ON, day.year, day, day)}


async def carry_over_candidate_pairs(year: int) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT DISTINCT d.institution, d.station" + _CARRY_FROM,
        year,
        year - 1,
        date(year - 1, 12, 31),
        year,
    )


async def carry_over_pair(year: int, institution_id: int, station_id: int | None, created_at: datetime) -> int:
    station = "d.station IS NULL" if station_id is None else "d.station = {}"
    args: list[object] = [year, date(year, 1, 1), created_at, year, year - 1, date(year - 1, 12, 31), year]
    args += [institution_id] + ([station_id] if station_id is not None else [])
    rows = await fetch(
        "INSERT INTO designation (member, year, institution, station, valid_from, source, created_at)"
        " SELECT d.member, {}, d.institution, d.station, {}, 'carry_over', {}"
        + _CARRY_FROM
        + f" AND d.institution = {{}} AND {station} RETURNING id",
        *args,
    )
    return len(rows)


async def evidence_digests() -> set[str]:
    """The blob digests every evidence row names (what blob GC keeps)."""
    return {r["sha256"] for r in await fetch("SELECT sha256 FROM evidence_file")}


async def facility_id_by_code(code: str) -> int | None:
    row = await fetch_one("SELECT id FROM facility WHERE code = {}", code)
    return int(row["id"]) if row else None


async def active_facilities(
    division: str | None,
    kind: str | None,
    tier: str | None,
    term: str | None,
    after_id: int = 0,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Active facilities matching the filters (``term`` in the name or address), by id; a keyset page when
    ``limit`` is given."""
    where = (Facility.active == True) & (Facility.id > after_id)  # noqa: E712
    if division:
        where &= Facility.division == division
    if kind:
        where &= Facility.kind == kind
    if tier:
        where &= Facility.tier == tier
    if term:
        where &= Facility.name.like(f"%{term}%") | Facility.address.like(f"%{term}%")
    query = Facility.select().where(where).order_by(Facility.id)
    return await (query.limit(limit) if limit is not None else query)


async def active_facility(facility_id: int) -> dict[str, Any] | None:
    return await Facility.select().where((Facility.id == facility_id) & (Facility.active == True)).first()  # noqa: E712


async def active_stations_of(facility_id: int) -> list[dict[str, Any]]:
    return await (
        Facility.select().where((Facility.parent == facility_id) & (Facility.active == True)).order_by(Facility.id)  # noqa: E712
    )
