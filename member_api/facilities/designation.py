"""Designation (R2): the pair in force on a day, first choice, carry-over, change requests and review.

Every designation and change request keeps who made it (``made_by`` / ``filed_by``): the resident (or a relative
acting for them), or a clerk of a primary institution who checked the resident's ID card at the counter
(``record_for_member``, ``file_change_request_for_member``) for residents without a smartphone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from piccolo.columns.combination import Where

from member_api.audit.service import record
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, invalid_field, not_found
from member_api.core.principal import Principal
from member_api.core.uploads import CheckedFile
from member_api.db import write_transaction
from member_api.facilities import queries
from member_api.facilities.schemas import (
    ChangeRequestView,
    CurrentDesignation,
    DesignationView,
    EvidenceView,
    MadeBy,
)
from member_api.facilities.search import to_view
from member_api.facilities.tables import ChangeRequest, Designation, EvidenceFile, Facility
from member_api.members import service as member_service
from member_api.members.identity import id_problem, normalise_id
from member_api.members.service import eligibility
from member_api.policy import parameters
from member_api.policy.designation import (
    PRIMARY_KINDS,
    FacilityRef,
    change_effective_date,
    in_force_on,
    pair_problem,
)

OPEN = "pending"
CHOICE_SOURCES = ("first_choice", "change", "change_request")


async def designation_on(member_id: int, day: date) -> dict[str, Any] | None:
    """The designation row in force on ``day``, or None. A read: carry-over is written by ``ensure_year``
    (the member's first write of a year) and by ``carry_over_year`` (the daily job), never here."""
    return await queries.designation_on(member_id, day)


async def _facility_refs(*ids: int | None) -> dict[int, FacilityRef]:
    wanted = [i for i in ids if i is not None]
    rows = await Facility.select().where(Facility.id.is_in(wanted)) if wanted else []
    return {
        r["id"]: FacilityRef(
            id=r["id"], kind=r["kind"], in_city=r["in_city"], active=r["active"], parent_id=r["parent"]
        )
        for r in rows
    }


async def ensure_year(member_id: int, year: int, today: date) -> None:
    """Carry last year's pair into ``year`` when the member is enrolled again and both are still active."""
    if await Designation.exists().where((Designation.member == member_id) & (Designation.year == year)):
        return
    if today.year != year or not await eligibility(member_id, today):
        return
    last = (
        await Designation.select()
        .where((Designation.member == member_id) & (Designation.year == year - 1))
        .order_by(Designation.valid_from, ascending=False)
        .first()
    )
    if last is None or (last["valid_to"] is not None and last["valid_to"] <= date(year - 1, 12, 31)):
        return
    if not await _pair_still_valid(last["institution"], last["station"]):
        return
    async with write_transaction():
        if await Designation.exists().where((Designation.member == member_id) & (Designation.year == year)):
            return
        await Designation.insert(
            Designation(
                member=member_id,
                year=year,
                institution=last["institution"],
                station=last["station"],
                valid_from=date(year, 1, 1),
                source="carry_over",
                created_at=_utc_midnight(today),
            )
        ).run()


async def _pair_still_valid(institution_id: int, station_id: int | None) -> bool:
    refs = await _facility_refs(institution_id, station_id)
    inst, station = refs.get(institution_id), refs.get(station_id) if station_id else None
    return inst is not None and pair_problem(inst, station) is None


async def carry_over_year(year: int, today: date) -> int:
    """Carry every eligible member's last-year pair into ``year`` (R2, one year at a time); idempotent.

    Set-based per distinct pair: the pair rule (``policy.designation.pair_problem``) is checked once per pair,
    then one INSERT ... SELECT moves all its members. Run by ``member-api rollover YEAR`` and daily housekeeping.
    """
    moved = 0
    for pair in await queries.carry_over_candidate_pairs(year):
        if await _pair_still_valid(pair["institution"], pair["station"]):
            async with write_transaction():
                moved += await queries.carry_over_pair(year, pair["institution"], pair["station"], _utc_midnight(today))
    return moved


def _utc_midnight(day: date) -> Any:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _actor_facility(actor: Principal) -> int | None:
    """The facility recorded with an act: the clerk's, when a clerk acts for a resident."""
    return actor.facility_id if actor.role == "clerk" else None


def _made_by(actor: str, facility_id: int | None, names: dict[int, str], source: str = "") -> MadeBy | None:
    """Who made a designation or filed a request, as the resident sees it (no staff names, the facility's)."""
    if source == "carry_over":
        return MadeBy(role="system")
    if actor.startswith("account:"):
        return MadeBy(role="resident")
    if actor.startswith("staff:"):
        if facility_id is None:
            return MadeBy(role="agency")
        return MadeBy(role="clerk", facility_id=facility_id, facility_name=names.get(facility_id))
    return None  # rows made before who-made-it was recorded


async def _view(row: dict[str, Any]) -> DesignationView:
    ids = [row["institution"], *([row["station"]] if row["station"] else [])]
    if row.get("made_by_facility"):
        ids.append(row["made_by_facility"])
    facilities = await queries.facilities_by_id(ids)
    names = {i: f["name"] for i, f in facilities.items()}
    return DesignationView(
        id=row["id"],
        member_id=row["member"],
        year=row["year"],
        institution=to_view(facilities[row["institution"]]),
        station=to_view(facilities[row["station"]]) if row["station"] else None,
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        source=row["source"],
        change_request_id=row["change_request"],
        made_by=_made_by(row.get("made_by") or "", row.get("made_by_facility"), names, row["source"]),
    )


async def _change_free(member_id: int, year: int) -> bool:
    return not await queries.has_designation_from(member_id, year, CHOICE_SOURCES)


async def current(ctx: AppContext, member_id: int, year: int | None) -> CurrentDesignation:
    """The pair in force (today, or on 31 December of a past year) and whether the free change is still open,
    from one read of the member's rows of the year: every resident's home screen asks for this."""
    today = local_today(ctx.clock)
    year = year or today.year
    day = today if year == today.year else date(year, 12, 31)
    rows = await queries.designations_of_year(member_id, year)
    row = next((r for r in rows if in_force_on(r["valid_from"], r["valid_to"], day)), None)
    return CurrentDesignation(
        year=year,
        designation=await _view(row) if row else None,
        change_free=not any(r["source"] in CHOICE_SOURCES for r in rows),
    )


async def _validated_pair(member_id: int, year: int, institution_id: int, station_id: int | None) -> None:
    """R1 and R2 for a pair the member asks for."""
    if not await eligibility(member_id, date(year, 12, 31)):
        raise DomainError(
            "not_eligible",
            f"{year} 年度未参保或未缴费，不能选定医疗机构",
            f"Not enrolled and paid up for {year}; designation is not available.",
        )
    refs = await _facility_refs(institution_id, station_id)
    if institution_id not in refs:
        raise invalid_field("institution_id", "所选机构不存在", "No such facility.", code="facility_not_found")
    if station_id is not None and station_id not in refs:
        raise invalid_field("station_id", "所选卫生站不存在", "No such facility.", code="facility_not_found")
    problem = pair_problem(refs[institution_id], refs.get(station_id) if station_id else None)
    if problem:
        field = "station_id" if "station" in problem else "institution_id"
        zh, en = _PAIR_MESSAGES.get(problem, ("所选机构不符合规定", "The facilities chosen are not allowed."))
        raise invalid_field(field, zh, en, code=problem)


_PAIR_MESSAGES = {
    "facility_inactive": ("所选机构已停止服务", "The facility no longer serves members."),
    "facility_out_of_city": ("只能选择韶关市内的定点医疗机构", "Only facilities inside Shaoguan can be designated."),
    "not_primary_institution": (
        "只能选择乡镇卫生院、社区卫生服务中心或校医院",
        "Choose a township health centre, community health centre or school clinic.",
    ),
    "station_not_allowed": ("校医院不设卫生站，请不要选择卫生站", "A school clinic runs no village station."),
    "station_required": (
        "请同时选择一家由该机构一体化管理的卫生站",
        "Also choose a village station run by this institution.",
    ),
    "not_village_station": ("所选卫生站不是村（社区）卫生站", "The station chosen is not a village station."),
    "station_of_other_institution": ("所选卫生站不属于该机构", "The station is run by another institution."),
}
# For the OpenAPI document of the operations that validate a pair
PAIR_PROBLEMS = ("not_eligible", "facility_not_found", *_PAIR_MESSAGES)


async def choose(
    ctx: AppContext, actor: Principal, member_id: int, institution_id: int, station_id: int | None
) -> CurrentDesignation:
    """The first choice of a year (or the first change after a carry-over) takes effect today."""
    today, now = local_today(ctx.clock), ctx.clock.now()
    await _validated_pair(member_id, today.year, institution_id, station_id)
    await ensure_year(member_id, today.year, today)
    async with write_transaction():
        if not await _change_free(member_id, today.year):
            raise DomainError(
                "change_request_required",
                "本年度已选定医疗机构，变更需提交申请并经审核",
                "This year's designation is set; a change needs a reviewed change request.",
            )
        open_rows = await Designation.select(Designation.id).where(
            (Designation.member == member_id) & (Designation.year == today.year) & Designation.valid_to.is_null()
        )
        for open_row in open_rows:
            await Designation.update({Designation.valid_to: today}).where(Designation.id == open_row["id"])
        row = Designation(
            member=member_id,
            year=today.year,
            institution=institution_id,
            station=station_id,
            valid_from=today,
            source="first_choice" if not open_rows else "change",
            created_at=now,
            made_by=actor.actor,
            made_by_facility=_actor_facility(actor),
        )
        await row.save()
        details: dict[str, Any] = {"institution": institution_id, "station": station_id}
        if actor.role == "clerk":
            details["recorded_at_counter"] = actor.facility_id  # R2: a clerk acted after checking the ID card
        await record(now, actor.actor, "designation_chosen", "member", member_id, details)
    return await current(ctx, member_id, today.year)


async def history(member_id: int) -> list[DesignationView]:
    rows = (
        await Designation.select()
        .where(Designation.member == member_id)
        .order_by(Designation.valid_from, ascending=False)
        .order_by(Designation.id, ascending=False)
    )
    return [await _view(r) for r in rows]


async def _request_views(rows: list[dict[str, Any]]) -> list[ChangeRequestView]:
    ids = [r["id"] for r in rows]
    files = await EvidenceFile.select().where(EvidenceFile.change_request.is_in(ids)) if ids else []
    clerk_sites = list({r["filed_by_facility"] for r in rows if r["filed_by_facility"]})
    names: dict[int, str] = {}
    if clerk_sites:
        sites = await Facility.select(Facility.id, Facility.name).where(Facility.id.is_in(clerk_sites))
        names = {f["id"]: f["name"] for f in sites}
    return [
        ChangeRequestView(
            id=r["id"],
            member_id=r["member"],
            year=r["year"],
            institution_id=r["institution"],
            station_id=r["station"],
            reason=r["reason"],
            reason_text=r["reason_text"],
            status=r["status"],
            division=r["division"],
            decision_comment=r["decision_comment"],
            decided_at=r["decided_at"],
            effective_from=r["effective_from"],
            created_at=r["created_at"],
            filed_by=_made_by(r["filed_by"], r["filed_by_facility"], names),
            evidence=[
                EvidenceView(id=f["id"], sha256=f["sha256"], content_type=f["content_type"], size=f["size"])
                for f in files
                if f["change_request"] == r["id"]
            ],
        )
        for r in rows
    ]


async def submit_change_request(
    ctx: AppContext,
    actor: Principal,
    member_id: int,
    institution_id: int,
    station_id: int | None,
    reason: str,
    reason_text: str,
    files: list[CheckedFile],
) -> ChangeRequestView:
    today, now = local_today(ctx.clock), ctx.clock.now()
    if reason == "other" and not reason_text.strip():
        raise invalid_field("reason_text", "请说明变更原因", "Explain the reason when it is 'other'.")
    await _validated_pair(member_id, today.year, institution_id, station_id)
    await ensure_year(member_id, today.year, today)
    in_force = await designation_on(member_id, today)
    if in_force is None:
        raise DomainError("no_designation", "尚未选定医疗机构，请直接选择", "No designation yet; choose one directly.")
    if (in_force["institution"], in_force["station"]) == (institution_id, station_id):
        raise DomainError("same_designation", "所选机构与当前选定机构相同", "That pair is already designated.")
    member = await member_service.member_facts(member_id)
    digests = [ctx.blobs.put(f.data) for f in files]  # durable before the rows that name them
    async with write_transaction():
        if await ChangeRequest.exists().where((ChangeRequest.member == member_id) & (ChangeRequest.status == OPEN)):
            raise DomainError("change_request_open", "已有一个待审核的变更申请", "A change request is already open.")
        req = ChangeRequest(
            member=member_id,
            year=today.year,
            institution=institution_id,
            station=station_id,
            reason=reason,
            reason_text=reason_text.strip()[:500],
            status=OPEN,
            current_institution=in_force["institution"],
            division=member["division"] if member else "",
            created_at=now,
            filed_by=actor.actor,
            filed_by_facility=_actor_facility(actor),
        )
        await req.save()
        for f, digest in zip(files, digests, strict=True):
            await EvidenceFile.insert(
                EvidenceFile(
                    change_request=req.id,
                    sha256=digest,
                    content_type=f.content_type,
                    size=len(f.data),
                    filename=f.filename,
                    created_at=now,
                )
            ).run()
        details: dict[str, Any] = {"member": member_id}
        if actor.role == "clerk":
            details["filed_at_counter"] = actor.facility_id
        await record(now, actor.actor, "change_request_submitted", "change_request", req.id, details)
    return (await _request_views([await _request_row(req.id)]))[0]


async def _request_row(request_id: int) -> dict[str, Any]:
    row = await ChangeRequest.select().where(ChangeRequest.id == request_id).first()
    if row is None:
        raise not_found("变更申请", "change request")
    return row


async def member_requests(member_id: int) -> list[ChangeRequestView]:
    rows = (
        await ChangeRequest.select()
        .where(ChangeRequest.member == member_id)
        .order_by(ChangeRequest.id, ascending=False)
    )
    return await _request_views(rows)


async def withdraw(ctx: AppContext, actor: Principal, member_id: int, request_id: int) -> ChangeRequestView:
    now = ctx.clock.now()
    async with write_transaction():
        row = (
            await ChangeRequest.select()
            .where((ChangeRequest.id == request_id) & (ChangeRequest.member == member_id))
            .first()
        )
        if row is None:
            raise not_found("变更申请", "change request")
        if row["status"] != OPEN:
            raise DomainError("change_request_closed", "该申请已处理，不能撤回", "The request is no longer open.")
        await ChangeRequest.update({ChangeRequest.status: "withdrawn", ChangeRequest.decided_at: now}).where(
            ChangeRequest.id == request_id
        )
        await record(now, actor.actor, "change_request_withdrawn", "change_request", request_id)
    return (await _request_views([await _request_row(request_id)]))[0]


def _reviewable_by(staff: Principal) -> Where | None:
    """Reviewers see every request; a clerk only those of members designated at the clerk's facility."""
    if staff.role == "reviewer":
        return None
    return ChangeRequest.current_institution == staff.facility_id


async def review_list(
    staff: Principal, status: str | None, division: str | None, limit: int, before_id: int | None
) -> list[ChangeRequestView]:
    where: Where = ChangeRequest.id > 0
    scope = _reviewable_by(staff)
    if scope is not None:
        where &= scope
    if status:
        where &= ChangeRequest.status == status
    if division:
        where &= ChangeRequest.division == division
    if before_id:
        where &= ChangeRequest.id < before_id
    rows = await ChangeRequest.select().where(where).order_by(ChangeRequest.id, ascending=False).limit(limit)
    return await _request_views(rows)


async def review_one(staff: Principal, request_id: int) -> ChangeRequestView:
    """One change request, to the staff who may decide it (reviewers: all; clerks: their facility's members)."""
    row = await ChangeRequest.select().where(ChangeRequest.id == request_id).first()
    if row is None or not (staff.role == "reviewer" or row["current_institution"] == staff.facility_id):
        raise not_found("变更申请", "change request")
    return (await _request_views([row]))[0]


async def evidence_file(staff: Principal, request_id: int, evidence_id: int) -> tuple[str, str]:
    """(sha256, content type) of a change request's evidence, to the staff who may decide the request."""
    view = await review_one(staff, request_id)
    found = next((e for e in view.evidence if e.id == evidence_id), None)
    if found is None:
        raise not_found("证明材料", "evidence")
    return found.sha256, found.content_type


async def decide(ctx: AppContext, staff: Principal, request_id: int, approve: bool, comment: str) -> ChangeRequestView:
    """Approve (the new pair takes effect the next local day) or reject; either is final and audited."""
    today, now = local_today(ctx.clock), ctx.clock.now()
    async with write_transaction():
        row = await ChangeRequest.select().where(ChangeRequest.id == request_id).first()
        scope_ok = row is not None and (staff.role == "reviewer" or row["current_institution"] == staff.facility_id)
        if not scope_ok or row is None:
            raise not_found("变更申请", "change request")
        if row["status"] != OPEN:
            raise DomainError("change_request_closed", "该申请已处理", "The request was already decided.")
        update: dict[Any, Any] = {
            ChangeRequest.decided_by: staff.staff_id,
            ChangeRequest.decided_at: now,
            ChangeRequest.decision_comment: comment.strip()[:500],
        }
        if approve:
            effective = change_effective_date(parameters.for_date(today), today)
            if effective.year != row["year"]:
                effective = max(effective, date(effective.year, 1, 1))
            await Designation.update({Designation.valid_to: effective}).where(
                (Designation.member == row["member"]) & Designation.valid_to.is_null()
            )
            await Designation.insert(
                Designation(
                    member=row["member"],
                    year=effective.year,
                    institution=row["institution"],
                    station=row["station"],
                    valid_from=effective,
                    source="change_request",
                    change_request=request_id,
                    created_at=now,
                    made_by=row["filed_by"],
                    made_by_facility=row["filed_by_facility"],
                )
            ).run()
            update.update({ChangeRequest.status: "approved", ChangeRequest.effective_from: effective})
        else:
            update[ChangeRequest.status] = "rejected"
        await ChangeRequest.update(update).where(ChangeRequest.id == request_id)
        await record(
            now,
            staff.actor,
            "change_request_approved" if approve else "change_request_rejected",
            "change_request",
            request_id,
            {"comment": comment[:200]},
        )
    return (await _request_views([await _request_row(request_id)]))[0]


# ---- clerk-assisted designation (R2: residents without a smartphone) ---------------------------------------------


# For the OpenAPI document of the clerk-assisted operations: who the clerk is, whose ID card
COUNTER_PROBLEMS = ("not_primary_institution_clerk", "invalid_id_number", "member_not_found")


async def _member_by_id_number(ctx: AppContext, id_number: str) -> int:
    """The member whose ID card the clerk checked; the number is matched by its keyed hash only."""
    problem = id_problem(id_number)
    if problem:
        raise invalid_field("id_number", "身份证号码有误，请核对", problem, code="invalid_id_number")
    id_hash = ctx.keyring.keyed_hash("id", normalise_id(id_number))
    found = await member_service.member_id_by_id_hash(id_hash)
    if found is None:
        raise DomainError("member_not_found", "未找到该参保人", "No member with this ID number.")
    return found


async def _clerk_institution(clerk: Principal) -> int:
    """Only a clerk of a primary institution (township, community centre, school clinic) acts for residents."""
    assert clerk.facility_id is not None
    facility = await Facility.select(Facility.kind, Facility.active).where(Facility.id == clerk.facility_id).first()
    if facility is None or facility["kind"] not in PRIMARY_KINDS or not facility["active"]:
        raise DomainError(
            "not_primary_institution_clerk",
            "只有基层医疗机构（乡镇卫生院、社区卫生服务中心、校医院）的工作人员可以代办",
            "Only a clerk of a primary institution may act for a resident here.",
        )
    return clerk.facility_id


async def record_for_member(
    ctx: AppContext, clerk: Principal, id_number: str, station_id: int | None
) -> CurrentDesignation:
    """A clerk records a resident's first designation of the year: the clerk's own institution and one of its
    stations (R2), after checking the ID card. Same rules as the resident's own choice; audited with the clerk;
    the resident's history shows it was made at this counter."""
    institution_id = await _clerk_institution(clerk)
    member_id = await _member_by_id_number(ctx, id_number)
    return await choose(ctx, clerk, member_id, institution_id, station_id)


async def file_change_request_for_member(
    ctx: AppContext,
    clerk: Principal,
    id_number: str,
    institution_id: int,
    station_id: int | None,
    reason: str,
    reason_text: str,
    files: list[CheckedFile],
) -> ChangeRequestView:
    """A clerk files a change request with scanned evidence for a resident (R2), lodged at the clerk's institution:
    the one currently designated (where it is reviewed by default) or the one the resident moves to."""
    own = await _clerk_institution(clerk)
    member_id = await _member_by_id_number(ctx, id_number)
    today = local_today(ctx.clock)
    await ensure_year(member_id, today.year, today)
    in_force = await designation_on(member_id, today)
    if own != institution_id and (in_force is None or in_force["institution"] != own):
        raise DomainError(
            "not_member_facility",
            "只能为在本机构约定或申请变更到本机构的参保人代办变更申请",
            "A clerk files change requests only for residents designated at, or moving to, the clerk's institution.",
        )
    return await submit_change_request(ctx, clerk, member_id, institution_id, station_id, reason, reason_text, files)


async def headcount(day: date) -> dict[int, int]:
    """Signed-up members per primary institution on ``day`` (station sign-ups count for their institution)."""
    return await queries.headcount_on(day)
