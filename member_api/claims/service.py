"""Newborn (R5, R9) and referral (R10) claims: draft, receipts, submit, review, payout within the cap."""

from __future__ import annotations

from datetime import date
from typing import Any

from member_api.audit.service import record
from member_api.catalogue import service as catalogue
from member_api.catalogue.schemas import ItemView
from member_api.claims import queries
from member_api.claims.schemas import (
    ClaimCreate,
    ClaimDecision,
    ClaimItemView,
    ClaimView,
    ReceiptView,
)
from member_api.claims.tables import Claim, ClaimItem, Receipt
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, FieldError, invalid_field, not_found
from member_api.core.principal import Principal
from member_api.core.uploads import CheckedFile
from member_api.db import retry_transient, write_transaction
from member_api.facilities import service as facility_service
from member_api.ledger import service as ledger
from member_api.members import service as member_service
from member_api.members.service import eligibility
from member_api.policy import parameters
from member_api.policy.claim_window import in_claim_window, next_claim_window
from member_api.policy.eligibility import enrolled_in_newborn_window, newborn_expense_covered
from member_api.policy.fee_lines import ValuedLine, totals
from member_api.policy.reimbursement import (
    AccountState,
    Bill,
    Coverage,
    FacilityFacts,
    Reimbursement,
    reimburse,
    reimburse_lines,
)
from member_api.referrals.service import referral_for

DRAFT, SUBMITTED, IN_REVIEW = "draft", "submitted", "in_review"


# ---- claims ------------------------------------------------------------------------------------------------------


async def _views(rows: list[dict[str, Any]]) -> list[ClaimView]:
    ids = [r["id"] for r in rows]
    items = await ClaimItem.select().where(ClaimItem.claim.is_in(ids)).order_by(ClaimItem.id) if ids else []
    receipts = await Receipt.select().where(Receipt.claim.is_in(ids)).order_by(Receipt.id) if ids else []
    lines = await _lines(items)
    return [
        ClaimView(
            id=r["id"],
            member_id=r["member"],
            kind=r["kind"],
            status=r["status"],
            referral_id=r["referral"],
            lodged_with_id=r["lodged_with"],
            division=r["division"],
            paid_fen=r["paid_fen"],
            reviewer_comment=r["reviewer_comment"],
            created_at=r["created_at"],
            submitted_at=r["submitted_at"],
            decided_at=r["decided_at"],
            review_started_at=r["review_started_at"],
            review_started_by=r["review_started_by"],
            items=[
                ClaimItemView(
                    id=i["id"],
                    care_date=i["care_date"],
                    facility_id=i["facility"],
                    out_of_city_name=i["out_of_city_name"],
                    general_fee_fen=i["general_fee_fen"],
                    compliant_fen=i["compliant_fen"],
                    non_compliant_fen=i["non_compliant_fen"],
                    status=i["status"],
                    reject_reason=i["reject_reason"],
                    fund_fen=i["fund_fen"],
                    settlement_id=i["settlement_id"],
                    receipts=[
                        ReceiptView(
                            id=f["id"],
                            item_id=f["item"],
                            sha256=f["sha256"],
                            content_type=f["content_type"],
                            size=f["size"],
                            reused=f["reused"],
                        )
                        for f in receipts
                        if f["item"] == i["id"]
                    ],
                    manual_entry=not i["itemised"],
                    items=lines.get(i["id"], []),
                )
                for i in items
                if i["claim"] == r["id"]
            ],
        )
        for r in rows
    ]


async def _lines(items: list[dict[str, Any]]) -> dict[int, list[ItemView]]:
    """Each itemised visit's lines (R18): as paid once approved (the movement keeps them), as valued before."""
    paid = {i["settlement_id"]: i["id"] for i in items if i["itemised"] and i["settlement_id"] is not None}
    found: dict[int, list[ItemView]] = {
        paid[movement]: views for movement, views in (await ledger.items_of(list(paid))).items()
    }
    pending = [i["id"] for i in items if i["itemised"] and i["id"] not in found]
    for row in await queries.lines_of(pending):
        found.setdefault(row["item"], []).append(catalogue.stored_item_view(row))
    return found


async def _one(claim_id: int, member_id: int | None = None) -> dict[str, Any]:
    where = Claim.id == claim_id
    if member_id is not None:
        where &= Claim.member == member_id
    row = await Claim.select().where(where).first()
    if row is None:
        raise not_found("报销申请", "claim")
    return row


async def view(claim_id: int, member_id: int | None = None) -> ClaimView:
    return (await _views([await _one(claim_id, member_id)]))[0]


async def list_for_member(member_id: int) -> list[ClaimView]:
    return await _views(await Claim.select().where(Claim.member == member_id).order_by(Claim.id, ascending=False))


async def create(
    ctx: AppContext, caller_member_id: int, actor: Principal, member_id: int, req: ClaimCreate
) -> ClaimView:
    """A draft. Items name a catalogue facility or, for care outside the city, the facility's name."""
    today, now = local_today(ctx.clock), ctx.clock.now()
    if req.kind == "newborn" and member_id == caller_member_id:
        raise invalid_field(
            "member_id",
            "新生儿报销须由监护人为被监护人申请",
            "A newborn claim is filed by the guardian for the dependant (?member_id=).",
            code="newborn_claim_needs_dependant",
        )
    if req.kind == "referral" and req.referral_id is None:
        raise invalid_field("referral_id", "转诊报销须选择已批准的转诊", "A referral claim names its referral.")
    facility_ids = {i.facility_id for i in req.items if i.facility_id is not None}
    facilities = await facility_service.facilities_by_id(list(facility_ids)) if facility_ids else {}
    errors = []
    for n, item in enumerate(req.items):
        if (item.facility_id is None) == (not item.out_of_city_name):
            errors.append(FieldError(field=f"items[{n}]", message="give facility_id or out_of_city_name, not both"))
        elif item.facility_id is not None and item.facility_id not in facilities:
            errors.append(FieldError(field=f"items[{n}].facility_id", message="no such facility"))
        if item.care_date > today:
            errors.append(FieldError(field=f"items[{n}].care_date", message="in the future"))
        try:
            parameters.for_date(item.care_date)
        except parameters.NoPolicyYear:
            errors.append(FieldError(field=f"items[{n}].care_date", message="no policy year covers this date"))
    if errors:
        raise DomainError(
            "validation_error", "报销明细有误，请检查标出的项目", "Some items are invalid.", errors=errors
        )
    valued = await _valued(req)
    lodged = req.lodged_with_id
    if lodged is None:
        designation = await facility_service.designation_on(member_id, today) or await facility_service.designation_on(
            caller_member_id, today
        )
        if designation is None:
            raise DomainError("no_designation", "请先选定约定医疗机构", "Choose a designated facility first.")
        lodged = designation["institution"]
    elif not (await facility_service.facilities_by_id([lodged])).get(lodged, {}).get("in_city"):
        raise invalid_field("lodged_with_id", "受理机构不存在", "No such facility.")
    member = await member_service.member_facts(member_id)
    async with write_transaction():
        claim = Claim(
            member=member_id,
            submitted_by=caller_member_id,
            kind=req.kind,
            referral=req.referral_id,
            lodged_with=lodged,
            division=member["division"] if member else "",
            status=DRAFT,
            created_at=now,
        )
        await claim.save()
        lines: list[tuple[object, ...]] = []
        for i, (bill, valued_lines) in zip(req.items, valued, strict=True):
            inserted = await ClaimItem.insert(
                ClaimItem(
                    claim=claim.id,
                    care_date=i.care_date,
                    facility=i.facility_id,
                    out_of_city_name=(i.out_of_city_name or "").strip(),
                    general_fee_fen=bill.general_fee_fen,
                    compliant_fen=bill.compliant_fen,
                    non_compliant_fen=bill.non_compliant_fen,
                    itemised=valued_lines is not None,
                )
            ).run()
            lines += [(inserted[0]["id"], *catalogue.item_row(line)) for line in valued_lines or []]
        await queries.insert_lines(lines)
        await record(now, actor.actor, "claim_created", "claim", claim.id)
    return await view(claim.id)


async def _valued(req: ClaimCreate) -> list[tuple[Bill, list[ValuedLine] | None]]:
    """Each visit's bill: its lines valued with the catalogue of its care date and facility (R18), the totals derived
    from them; or, deprecated, the three typed totals. Bad lines are 422 naming the visit and the line."""
    bills: list[tuple[Bill, list[ValuedLine] | None]] = []
    for n, item in enumerate(req.items):
        if item.items is None:
            typed = Bill(
                general_fee_fen=item.general_fee_fen,
                compliant_fen=item.compliant_fen,
                non_compliant_fen=item.non_compliant_fen,
            )
            bills.append((typed, None))
            continue
        if item.general_fee_fen or item.compliant_fen or item.non_compliant_fen or not item.items:
            raise invalid_field(
                f"items[{n}].items",
                "费用明细与三项合计只能二选一，且明细不能为空",
                "Give a visit's bill as lines or as the three totals, not both; lines need at least one.",
                code="items_and_totals",
            )
        lines = catalogue.fee_lines(item.items, field=f"items[{n}].items")
        valued = await catalogue.value_lines(lines, item.care_date, item.facility_id)
        t = totals(valued)
        bill = Bill(
            general_fee_fen=t.general_fee_fen, compliant_fen=t.compliant_fen, non_compliant_fen=t.non_compliant_fen
        )
        bills.append((bill, valued))
    return bills


async def add_receipts(
    ctx: AppContext, actor: Principal, member_id: int, claim_id: int, item_id: int, files: list[CheckedFile]
) -> ClaimView:
    """Files are made durable (temp, fsync, rename) before the rows that name them commit."""
    claim = await _one(claim_id, member_id)
    if claim["status"] != DRAFT:
        raise DomainError("claim_not_draft", "申请已提交，不能再修改", "The claim was submitted and cannot change.")
    if not await ClaimItem.exists().where((ClaimItem.id == item_id) & (ClaimItem.claim == claim_id)):
        raise invalid_field("item_id", "报销明细不存在", "No such item on this claim.")
    digests = [ctx.blobs.put(f.data) for f in files]
    now = ctx.clock.now()
    try:
        async with write_transaction():
            for f, digest in zip(files, digests, strict=True):
                reused = await Receipt.exists().where((Receipt.sha256 == digest) & (Receipt.claim != claim_id))
                await Receipt.insert(
                    Receipt(
                        claim=claim_id,
                        item=item_id,
                        sha256=digest,
                        content_type=f.content_type,
                        size=len(f.data),
                        filename=f.filename,
                        reused=reused,
                        created_at=now,
                    )
                ).run()
                if reused:
                    await record(now, actor.actor, "receipt_reused", "claim", claim_id, {"sha256": digest})
            await record(now, actor.actor, "receipts_added", "claim", claim_id, {"count": len(files)})
    except BaseException:
        await _forget_unreferenced(ctx, digests)
        raise
    return await view(claim_id)


async def _forget_unreferenced(ctx: AppContext, digests: list[str]) -> None:
    """After a failed commit, remove blobs no row names (a blob another claim uses stays)."""
    for digest in set(digests):
        if not await Receipt.exists().where(Receipt.sha256 == digest):
            ctx.blobs.path_for(digest).unlink(missing_ok=True)


async def receipt_file(claim_id: int, receipt_id: int, member_id: int | None) -> tuple[bytes, str, str]:
    """(sha256, content type) of a receipt for its owner (member_id given) or a reviewer (None)."""
    await _one(claim_id, member_id)
    row = await Receipt.select().where((Receipt.id == receipt_id) & (Receipt.claim == claim_id)).first()
    if row is None:
        raise not_found("票据", "receipt")
    return row["sha256"], row["content_type"], row["filename"]


def _outside_window(today: date) -> DomainError:
    """R9: the next window, and which holiday calendar its end was computed with (``calendar_source``)."""
    window = next_claim_window(today)
    return DomainError(
        "outside_claim_window",
        f"新生儿报销请于每月最后 5 天办理（逢节假日顺延），下一次办理时间：{window.start} 至 {window.end}",
        f"Newborn claims are accepted in the last days of each month; next window {window.start} to {window.end}.",
        extra={
            "next_window": {
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
                "calendar_source": window.calendar_source,
            }
        },
    )


async def _newborn_paid_up(member_id: int, items: list[dict[str, Any]]) -> None:
    """R1 holds for newborn claims too: R5 widens which expenses are covered, not who is covered. Each expense
    needs the newborn enrolled and paid up for the policy year of its date, the same policy function that decides
    the payout (``policy.eligibility.is_eligible`` through ``members.service.eligibility``)."""
    unpaid = [
        (n, i["care_date"])
        for n, i in enumerate(items)
        if not await eligibility(member_id, i["care_date"], newborn_before_enrollment=True)
    ]
    if not unpaid:
        return
    years = sorted({day.year for _, day in unpaid})
    listed = "、".join(str(y) for y in years)
    raise DomainError(
        "newborn_not_paid_up",
        f"新生儿 {listed} 年度未参保缴费，该年度的门诊费用不能报销，请先办理参保缴费",
        f"The newborn is not enrolled and paid up for {', '.join(map(str, years))}; "
        "expenses of that year cannot be claimed (R1).",
        errors=[
            FieldError(field=f"items[{n}].care_date", message=f"not paid up for {day.year} (R1)") for n, day in unpaid
        ],
        extra={"years_not_paid_up": years},
    )


async def submit(ctx: AppContext, actor: Principal, member_id: int, claim_id: int) -> ClaimView:
    """Check every rule (R1, R5, R9, R10, one receipt per item) before the claim becomes immutable."""
    today, now = local_today(ctx.clock), ctx.clock.now()
    claim = await _one(claim_id, member_id)
    if claim["status"] != DRAFT:
        raise DomainError("claim_not_draft", "申请已提交", "The claim was already submitted.")
    items = await ClaimItem.select().where(ClaimItem.claim == claim_id)
    receipts = {r["item"] for r in await Receipt.select(Receipt.item).where(Receipt.claim == claim_id)}
    errors = [
        FieldError(field=f"items[{n}]", message="needs at least one receipt")
        for n, i in enumerate(items)
        if i["id"] not in receipts
    ]
    if claim["kind"] == "newborn":
        if not in_claim_window(today):
            raise _outside_window(today)
        member = await member_service.member_facts(member_id)
        enrollment = await member_service.first_enrollment(member_id)
        assert member is not None
        params = parameters.for_date(member["birth_date"])
        if enrollment is None or not enrolled_in_newborn_window(
            params, member["birth_date"], enrollment["enrolled_on"]
        ):
            raise DomainError(
                "newborn_not_eligible",
                "新生儿须在出生后 6 个月内参保方可报销",
                "The newborn was not enrolled within 6 months of birth (R5).",
            )
        errors += [
            FieldError(field=f"items[{n}].care_date", message="not between birth and enrollment (R5)")
            for n, i in enumerate(items)
            if not newborn_expense_covered(params, member["birth_date"], enrollment["enrolled_on"], i["care_date"])
        ]
        await _newborn_paid_up(member_id, items)
    else:
        for n, i in enumerate(items):
            if i["facility"] is None or not await referral_for(
                member_id, claim["referral"], i["facility"], i["care_date"]
            ):
                errors.append(FieldError(field=f"items[{n}]", message="not covered by the approved referral (R10)"))
    if errors:
        raise DomainError(
            "claim_incomplete",
            "申请不符合报销条件，请检查标出的项目",
            "The claim cannot be submitted.",
            errors=errors,
        )
    async with write_transaction():
        updated = (
            await Claim.update({Claim.status: SUBMITTED, Claim.submitted_at: now})
            .where((Claim.id == claim_id) & (Claim.status == DRAFT))
            .returning(Claim.id)
        )
        if not updated:
            raise DomainError("claim_not_draft", "申请已提交", "The claim was already submitted.")
        await record(now, actor.actor, "claim_submitted", "claim", claim_id)
    return await view(claim_id)


async def review_list(
    status: str | None,
    kind: str | None,
    division: str | None,
    submitted_from: date | None,
    limit: int,
    before_id: int | None,
) -> list[ClaimView]:
    where = Claim.status != DRAFT
    if status:
        where &= Claim.status == status
    if kind:
        where &= Claim.kind == kind
    if division:
        where &= Claim.division == division
    if submitted_from:
        where &= Claim.submitted_at >= submitted_from
    if before_id:
        where &= Claim.id < before_id
    return await _views(await Claim.select().where(where).order_by(Claim.id, ascending=False).limit(limit))


def _not_reviewable() -> DomainError:
    return DomainError("claim_not_reviewable", "该申请不在待审核状态", "The claim is not awaiting review.")


async def start_review(ctx: AppContext, reviewer: Principal, claim_id: int) -> ClaimView:
    """A reviewer takes a submitted claim: colleagues see it is in hand, and only they decide it."""

    async def transaction() -> None:
        now = ctx.clock.now()
        async with write_transaction():
            claim = await _one(claim_id)
            if claim["status"] == IN_REVIEW and claim["review_started_by"] == reviewer.staff_id:
                return  # taking it again changes nothing
            _check_reviewer(claim, reviewer)
            await Claim.update(
                {Claim.status: IN_REVIEW, Claim.review_started_at: now, Claim.review_started_by: reviewer.staff_id}
            ).where(Claim.id == claim_id)
            await record(now, reviewer.actor, "claim_review_started", "claim", claim_id)

    await retry_transient(transaction)
    return await view(claim_id)


def _check_reviewer(claim: dict[str, Any], reviewer: Principal) -> None:
    if claim["status"] == IN_REVIEW and claim["review_started_by"] != reviewer.staff_id:
        raise DomainError(
            "claim_taken_by_another_reviewer",
            "该申请正由其他审核人员审核",
            "Another reviewer has taken this claim.",
        )
    if claim["status"] not in (SUBMITTED, IN_REVIEW):
        raise _not_reviewable()


async def decide(ctx: AppContext, reviewer: Principal, claim_id: int, req: ClaimDecision) -> ClaimView:
    """Per item; approved items are paid at their facility's tier within the cap of the year of care, atomically."""
    decisions = {d.item_id: d for d in req.items}

    async def transaction() -> None:
        now = ctx.clock.now()
        async with write_transaction():
            claim = await _one(claim_id)
            _check_reviewer(claim, reviewer)
            items = await ClaimItem.select().where(ClaimItem.claim == claim_id).order_by(ClaimItem.id)
            if set(decisions) != {i["id"] for i in items}:
                raise invalid_field(
                    "items", "请对每一项明细作出审核决定", "Decide every item of the claim exactly once."
                )
            paid = 0
            for item in items:
                decision = decisions[item["id"]]
                if decision.decision == "reject":
                    await ClaimItem.update(
                        {ClaimItem.status: "rejected", ClaimItem.reject_reason: decision.reason}
                    ).where(ClaimItem.id == item["id"])
                    continue
                paid += await _pay_item(claim, item, reviewer, now)
            approved = sum(1 for d in decisions.values() if d.decision == "approve")
            status = "rejected" if approved == 0 else "approved" if approved == len(items) else "partly_approved"
            await Claim.update(
                {
                    Claim.status: status,
                    Claim.paid_fen: paid,
                    Claim.decided_at: now,
                    Claim.decided_by: reviewer.staff_id,
                    Claim.reviewer_comment: req.comment,
                }
            ).where(Claim.id == claim_id)
            await record(now, reviewer.actor, "claim_decided", "claim", claim_id, {"status": status, "paid_fen": paid})

    await retry_transient(transaction)
    return await view(claim_id)


async def _pay_item(claim: dict[str, Any], item: dict[str, Any], reviewer: Principal, now: Any) -> int:
    """Post the payout to the ledger: the account of the year of care, at the facility's tier (R4, R7)."""
    params = parameters.for_date(item["care_date"])
    if item["facility"] is not None:
        facility = await facility_service.facility_facts(item["facility"])
        facts = FacilityFacts(kind=facility["kind"], tier=facility["tier"], in_city=facility["in_city"])
        paid_at = facility["id"]
    else:  # care outside the city, outside the catalogue: a primary-tier visit paid within the sub-cap
        facts = FacilityFacts(kind="out_of_city", tier="primary", in_city=False)
        paid_at = claim["lodged_with"]
    newborn = claim["kind"] == "newborn"
    eligible = await eligibility(claim["member"], item["care_date"], newborn_before_enrollment=newborn)
    coverage = Coverage(
        eligible=eligible, designated=False, referral_approved=not newborn, newborn_before_enrollment=newborn
    )
    bill = Bill(
        general_fee_fen=item["general_fee_fen"],
        compliant_fen=item["compliant_fen"],
        non_compliant_fen=item["non_compliant_fen"],
    )
    entry = ledger.Entry(
        member=claim["member"],
        facility=paid_at,
        kind=ledger.CLAIM_PAYOUT,
        year=params.year,
        visit_date=item["care_date"],
        bill=bill,
        clerk_id=reviewer.staff_id,
        referral_id=claim["referral"],
        reason_text=f"claim {claim['id']} item {item['id']}",
    )
    lines = (
        [catalogue.valued_line_of(row) for row in await queries.lines_of([item["id"]])] if item["itemised"] else None
    )

    def compute(state: AccountState) -> Reimbursement:
        if lines is not None:  # R18: paid as valued when claimed
            return reimburse_lines(params, facts, coverage, lines, state)
        return reimburse(params, facts, coverage, bill, state)

    posted, result = await ledger.post(entry, now, compute)
    await ClaimItem.update(
        {
            ClaimItem.status: "approved",
            ClaimItem.fund_fen: result.fund_fen,
            ClaimItem.settlement_id: posted.movement["id"],
        }
    ).where(ClaimItem.id == item["id"])
    return result.fund_fen


async def receipt_digests() -> set[str]:
    """The blob digests every receipt names (what blob GC keeps)."""
    return await queries.receipt_digests()
