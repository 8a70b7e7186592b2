"""Reads behind /fhir/R4: who may see what, and the areas' public reads turned into FHIR resources.

A resident sees their own record and their dependants' (the guardian rule of ``/v1/me?member_id=``); an
officer sees every member; any other role nothing. A record the caller may not see answers 404, as if absent.
Nothing here writes.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from member_api.core.clock import LOCAL_TZ, local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, not_found
from member_api.core.principal import MemberCaller, Principal, forbidden
from member_api.core.types import MAX_ID
from member_api.facilities import service as facility_service
from member_api.family.callers import subject_member
from member_api.fhir import mapping, search
from member_api.ledger import service as ledger
from member_api.members import service as members
from member_api.members.callers import provide_member_caller
from member_api.members.schemas import MemberView
from member_api.policy import parameters

READERS = ("member", "officer")


def parse_id(value: str, what: str) -> int:
    """A path id: digits within the serial range, else 404 (never a validation error that confirms a shape)."""
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise not_found("资源", what)
    return int(value)


async def _reader(ctx: AppContext, principal: Principal) -> MemberCaller | None:
    """The bound member of a resident, None for an officer; any other role is refused."""
    if principal.role == "officer":
        return None
    if principal.role == "member":
        return await provide_member_caller(principal, ctx)
    raise forbidden()


async def _member(ctx: AppContext, principal: Principal, member_id: int) -> MemberView:
    caller = await _reader(ctx, principal)
    if caller is not None:
        member_id = await subject_member(ctx, caller, member_id, "view", path="/fhir/R4")  # else 404
    view = await members.member_view(member_id)
    if view is None:
        raise not_found("参保人", "patient")
    return view


async def patient(ctx: AppContext, principal: Principal, member_id: int) -> dict[str, Any]:
    member = await _member(ctx, principal, member_id)
    current = (await facility_service.current(ctx, member.id, None)).designation
    designated = []
    if current is not None:
        designated.append(mapping.FacilityName(current.institution.id, current.institution.name))
        if current.station is not None:
            designated.append(mapping.FacilityName(current.station.id, current.station.name))
    return mapping.patient(member, designated)


async def coverages(ctx: AppContext, principal: Principal, member_id: int) -> list[dict[str, Any]]:
    """Every insurance year of the member, newest first."""
    member = await _member(ctx, principal, member_id)
    return [mapping.coverage(member, e) for e in sorted(member.enrollments, key=lambda e: -e.year)]


async def coverage(ctx: AppContext, principal: Principal, resource_id: str) -> dict[str, Any]:
    member_id, year = _year_id(resource_id, "Coverage")
    member = await _member(ctx, principal, member_id)
    for enrollment in member.enrollments:
        if enrollment.year == year:
            return mapping.coverage(member, enrollment)
    raise not_found("参保年度", "Coverage")


def _year_id(resource_id: str, what: str) -> tuple[int, int]:
    parsed = mapping.split_year_id(resource_id)
    if parsed is None or not 1 <= parsed[0] <= MAX_ID:
        raise not_found("资源", what)
    return parsed


async def cap_figures(member_id: int, year: int) -> mapping.CapFigures | None:
    """The year's caps (policy parameters, R17) and what the ledger says is used; None without parameters."""
    try:
        params = parameters.for_year(year)
    except parameters.NoPolicyYear:
        return None
    state = await ledger.state(member_id, year)
    return mapping.CapFigures(
        year=year,
        annual_cap_fen=params.annual_cap_fen,
        used_fen=state.used_fen,
        out_of_city_cap_fen=params.out_of_city_cap_fen,
        out_of_city_used_fen=state.used_out_of_city_fen,
    )


async def eligibility(ctx: AppContext, principal: Principal, member_id: int, year: int | None) -> dict[str, Any] | None:
    """The CoverageEligibilityResponse of a year (the current one by default); None when not enrolled."""
    member = await _member(ctx, principal, member_id)
    today = local_today(ctx.clock)
    year = year or today.year
    if await members.enrollment(member.id, year) is None:
        return None
    caps = await cap_figures(member.id, year)
    if caps is None:
        return None
    served = today if year == today.year else date(year, 12, 31)  # as GET /v1/me/benefits decides it
    in_force = await members.eligibility(member.id, served)
    return mapping.eligibility_response(member.id, caps, in_force, ctx.clock.now().astimezone(LOCAL_TZ), served)


async def eligibility_by_id(ctx: AppContext, principal: Principal, resource_id: str) -> dict[str, Any]:
    member_id, year = _year_id(resource_id, "CoverageEligibilityResponse")
    found = await eligibility(ctx, principal, member_id, year)
    if found is None:
        raise not_found("参保年度", "CoverageEligibilityResponse")
    return found


async def _explanations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    facilities = await facility_service.facilities_by_id([r["facility"] for r in rows])
    reversed_by = await ledger.reversals_of([r["id"] for r in rows])
    lines = await ledger.items_of([r["id"] for r in rows if r.get("itemised")])  # R18: the bill lines, one query
    caps: dict[tuple[int, int], mapping.CapFigures | None] = {}
    for r in rows:
        key = (r["member"], r["year"])
        if key not in caps:
            caps[key] = await cap_figures(*key)
    return [
        mapping.explanation_of_benefit(
            ledger.view(
                r, facilities.get(r["facility"], {}).get("name", ""), reversed_by.get(r["id"]), lines.get(r["id"])
            ),
            caps[(r["member"], r["year"])],
        )
        for r in rows
    ]


async def explanation_page(
    ctx: AppContext,
    principal: Principal,
    member_id: int,
    last_updated: list[str],
    count: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the member's fund movements, newest first (keyset on id), and the id the next page starts below."""
    member = await _member(ctx, principal, member_id)
    since, before = search.last_updated(last_updated, LOCAL_TZ)
    below = search.decode_cursor(cursor) if cursor else None
    rows = await ledger.member_page(
        member.id, None, None, None, below, count + 1, created_from=since, created_before=before
    )
    page = rows[:count]
    return await _explanations(page), (page[-1]["id"] if len(rows) > count else None)


async def explanation(ctx: AppContext, principal: Principal, movement_id: int) -> dict[str, Any]:
    caller = await _reader(ctx, principal)
    row = await ledger.movement(movement_id)
    if row is None:
        raise not_found("结算记录", "ExplanationOfBenefit")
    if caller is not None:
        try:
            await subject_member(ctx, caller, row["member"], "view", path="/fhir/R4")
        except DomainError as exc:
            raise not_found("结算记录", "ExplanationOfBenefit") from exc
    return (await _explanations([row]))[0]


async def facility(
    principal: Principal, resource_id: str, as_type: Literal["Organization", "Location"]
) -> dict[str, Any]:
    """A facility of the catalogue (not personal data: any resident or officer), or the agency as insurer."""
    if principal.role not in READERS:
        raise forbidden()
    if as_type == "Organization" and resource_id == mapping.AGENCY_ID:
        return mapping.agency()
    facility_id = parse_id(resource_id, as_type)
    row = (await facility_service.facilities_by_id([facility_id])).get(facility_id)
    if row is None:
        raise not_found("医疗机构", as_type)
    return mapping.organization(row) if as_type == "Organization" else mapping.location(row)
