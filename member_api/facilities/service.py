"""The facilities area's one public face: what other areas, jobs/ and web/ may ask of it.

Behind it, one module per use case: ``search`` (finding facilities: filters, text, distance, pages) and
``designation`` (R2: choice, carry-over, change requests, their review and evidence, clerk-assisted flows,
headcounts). Data access stays in ``queries.py``; other areas never import ``queries`` or ``tables`` of this one.
"""

from __future__ import annotations

from typing import Any

from member_api.facilities import queries
from member_api.facilities.designation import (
    carry_over_year,
    choose,
    current,
    decide,
    designation_on,
    evidence_file,
    file_change_request_for_member,
    headcount,
    history,
    member_requests,
    record_for_member,
    review_list,
    review_one,
    submit_change_request,
    withdraw,
)
from member_api.facilities.search import detail, search

__all__ = [
    "carry_over_year",
    "choose",
    "current",
    "decide",
    "designation_on",
    "detail",
    "evidence_digests",
    "evidence_file",
    "facilities_by_id",
    "facility_facts",
    "facility_id_by_code",
    "file_change_request_for_member",
    "headcount",
    "history",
    "member_requests",
    "names_of",
    "record_for_member",
    "review_list",
    "review_one",
    "search",
    "submit_change_request",
    "withdraw",
]


async def facility_facts(facility_id: int) -> dict[str, Any]:
    """What the policy engine and a receipt need of a facility (id, name, kind, tier, in_city); 404 if unknown."""
    return await queries.facility_row(facility_id)


async def facilities_by_id(ids: list[int]) -> dict[int, dict[str, Any]]:
    """Catalogue rows by id (inactive ones too: old records still name them)."""
    return await queries.facilities_by_id(ids)


async def facility_id_by_code(code: str) -> int | None:
    """The facility a catalogue code names (staff accounts are created with it), or None."""
    return await queries.facility_id_by_code(code)


async def evidence_digests() -> set[str]:
    """The blob digests every change request's evidence names (what blob GC keeps)."""
    return await queries.evidence_digests()


async def names_of(ids: list[int]) -> dict[int, str]:
    """Facility names by id (history, receipts, statements)."""
    return {fid: row["name"] for fid, row in (await queries.facilities_by_id(ids)).items()}
