"""Review (reviewer): the claim queue, taking a claim, the receipt viewer, per-item decisions with the payout;
change requests with their evidence (reviewers, and clerks for their facility's members, as in the API); the
dispute queue. Every decision is the API's own service with the reviewer's principal."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, get, post

from member_api.claims import service as claims_service
from member_api.claims.schemas import ClaimDecision, ItemDecision
from member_api.core.context import AppContext
from member_api.core.divisions import DIVISIONS
from member_api.core.errors import DomainError, FieldError
from member_api.core.principal import Principal
from member_api.disputes import service as disputes_service
from member_api.facilities import service as facility_service
from member_api.ledger import service as ledger
from member_api.members.identity import mask_name
from member_api.members.service import member_view
from member_api.web.common import labels
from member_api.web.common.forms import form_of, text
from member_api.web.common.pages import flash, redirect
from member_api.web.console.desk import desk_page, facility_name
from member_api.web.console.documents import page_count, page_image, picture_headers
from member_api.web.console.staff import ROOT

CLAIM_FILTER_STATUSES = ("submitted", "in_review", "approved", "partly_approved", "rejected")


async def _member(member_id: int) -> dict[str, Any]:
    view = await member_view(member_id)
    if view is None:
        return {"name_masked": "", "id_number_masked": "", "birth_date": None, "division": ""}
    return {
        "name_masked": mask_name(view.name),
        "id_number_masked": view.id_number_masked,
        "birth_date": view.birth_date,
        "division": view.division,
        "insurance_no": view.insurance_no,
    }


async def _names(ids: set[int | None]) -> dict[int, str]:
    return {i: await facility_name(i) for i in ids if i is not None}


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# ---- claims ------------------------------------------------------------------------------------------------------


@get("/review/claims")
async def claims(
    request: Request[Any, Any, Any],
    ctx: AppContext,
    reviewer: Principal,
    status: str | None = None,
    kind: str | None = None,
    division: str | None = None,
    window: str | None = None,
    before_id: int | None = None,
) -> Any:
    status = status if status in CLAIM_FILTER_STATUSES else None
    kind = kind if kind in ("newborn", "referral") else None
    division = division if division in DIVISIONS else None
    items = await claims_service.review_list(status, kind, division, _date(window), 50, before_id)
    members = {c.member_id: await _member(c.member_id) for c in items}
    return await desk_page(
        request,
        ctx,
        reviewer,
        "console/claims.html",
        "claims",
        items=items,
        members=members,
        filters={"status": status or "", "kind": kind or "", "division": division or "", "window": window or ""},
        statuses=CLAIM_FILTER_STATUSES,
        divisions=list(DIVISIONS),
        next_before=items[-1].id if len(items) == 50 else None,
    )


async def _pages(ctx: AppContext, claim: Any) -> list[dict[str, Any]]:
    """Every receipt page of the claim, in item order, as the viewer shows them."""
    pages: list[dict[str, Any]] = []
    for n, item in enumerate(claim.items, start=1):
        for receipt in item.receipts:
            count = page_count(ctx.blobs.get(receipt.sha256), receipt.content_type)
            for p in range(max(count, 1)):
                pages.append(
                    {
                        "src": f"{ROOT}/review/claims/{claim.id}/receipts/{receipt.id}/pages/{p}",
                        "label": f"第 {n} 项 · 票据 #{receipt.id}"
                        + (f" · PDF 第 {p + 1}/{count} 页" if receipt.content_type == "application/pdf" else ""),
                        "item_id": item.id,
                    }
                )
    return pages


async def _claim_page(
    request: Request[Any, Any, Any],
    ctx: AppContext,
    reviewer: Principal,
    claim_id: int,
    status: int = 200,
    **extra: Any,
) -> Any:
    claim = await claims_service.view(claim_id)
    names = await _names({claim.lodged_with_id, *(i.facility_id for i in claim.items)})
    return await desk_page(
        request,
        ctx,
        reviewer,
        "console/claim.html",
        "claims",
        status=status,
        claim=claim,
        member=await _member(claim.member_id),
        names=names,
        pages=await _pages(ctx, claim),
        mine=claim.status == "in_review" and claim.review_started_by == reviewer.staff_id,
        **extra,
    )


@get("/review/claims/{claim_id:int}")
async def claim_detail(request: Request[Any, Any, Any], ctx: AppContext, reviewer: Principal, claim_id: int) -> Any:
    return await _claim_page(request, ctx, reviewer, claim_id)


@post("/review/claims/{claim_id:int}/take", status_code=200)
async def take_claim(request: Request[Any, Any, Any], ctx: AppContext, reviewer: Principal, claim_id: int) -> Any:
    try:
        await claims_service.start_review(ctx, reviewer, claim_id)
    except DomainError as err:
        return await _claim_page(request, ctx, reviewer, claim_id, err.status, problem=labels.words(err))
    flash(request, "已领取，由您审核此申请")
    return redirect(f"{ROOT}/review/claims/{claim_id}")


@post("/review/claims/{claim_id:int}/decision", status_code=200)
async def decide_claim(request: Request[Any, Any, Any], ctx: AppContext, reviewer: Principal, claim_id: int) -> Any:
    form = await form_of(request)
    claim = await claims_service.view(claim_id)
    decisions, errors, typed = [], [], {}
    for item in claim.items:
        choice, reason = text(form, f"decision_{item.id}", 10), text(form, f"reason_{item.id}", 500)
        typed[item.id] = {"decision": choice, "reason": reason}
        if choice not in ("approve", "reject"):
            errors.append(FieldError(field=f"decision_{item.id}", message="请选择通过或驳回"))
        elif choice == "reject" and not reason:
            errors.append(FieldError(field=f"reason_{item.id}", message="请填写驳回原因"))
        else:
            decisions.append(ItemDecision(item_id=item.id, decision=choice, reason=reason))  # type: ignore[arg-type]
    comment = text(form, "comment", 500)
    try:
        if errors:
            raise DomainError(
                "decision_incomplete", "请对每一项作出决定，驳回须填写原因", "Decide every item.", errors=errors
            )
        decided = await claims_service.decide(ctx, reviewer, claim_id, ClaimDecision(items=decisions, comment=comment))
    except DomainError as err:
        return await _claim_page(
            request,
            ctx,
            reviewer,
            claim_id,
            err.status,
            problem=labels.words(err),
            field_errors={e.field: e.message for e in err.errors or []},
            typed=typed,
            comment=comment,
        )
    flash(request, f"审核完成：统筹支付 {decided.paid_fen / 100:.2f} 元")
    return redirect(f"{ROOT}/review/claims/{claim_id}")


@get("/review/claims/{claim_id:int}/receipts/{receipt_id:int}/pages/{index:int}")
async def receipt_page(
    ctx: AppContext, reviewer: Principal, claim_id: int, receipt_id: int, index: int
) -> Response[bytes]:
    sha256, content_type, _ = await claims_service.receipt_file(claim_id, receipt_id, None)
    data, media = await page_image(ctx.blobs.get(sha256), content_type, index)
    return Response(data, media_type=media, headers=picture_headers())


# ---- change requests (R2) ----------------------------------------------------------------------------------------


@get("/review/change-requests")
async def change_requests(
    request: Request[Any, Any, Any],
    ctx: AppContext,
    staff: Principal,
    status: str | None = "pending",
    division: str | None = None,
) -> Any:
    status = status if status in ("pending", "approved", "rejected", "withdrawn") else None
    division = division if division in DIVISIONS else None
    items = await facility_service.review_list(staff, status, division, 100, None)
    members = {r.member_id: await _member(r.member_id) for r in items}
    names = await _names({r.institution_id for r in items} | {r.station_id for r in items})
    return await desk_page(
        request,
        ctx,
        staff,
        "console/change_requests.html",
        "change_requests",
        items=items,
        members=members,
        names=names,
        filters={"status": status or "", "division": division or ""},
        divisions=list(DIVISIONS),
    )


async def _request_page(
    request: Request[Any, Any, Any], ctx: AppContext, staff: Principal, request_id: int, status: int = 200, **extra: Any
) -> Any:
    view = await facility_service.review_one(staff, request_id)
    pages = []
    for e in view.evidence:
        count = page_count(ctx.blobs.get(e.sha256), e.content_type)
        for p in range(max(count, 1)):
            pages.append(
                {
                    "src": f"{ROOT}/review/change-requests/{request_id}/evidence/{e.id}/pages/{p}",
                    "label": f"证明材料 #{e.id}" + (f" · 第 {p + 1}/{count} 页" if count > 1 else ""),
                }
            )
    return await desk_page(
        request,
        ctx,
        staff,
        "console/change_request.html",
        "change_requests",
        status=status,
        r=view,
        member=await _member(view.member_id),
        names=await _names({view.institution_id, view.station_id}),
        pages=pages,
        **extra,
    )


@get("/review/change-requests/{request_id:int}")
async def change_request(request: Request[Any, Any, Any], ctx: AppContext, staff: Principal, request_id: int) -> Any:
    return await _request_page(request, ctx, staff, request_id)


@post("/review/change-requests/{request_id:int}/decision", status_code=200)
async def decide_change_request(
    request: Request[Any, Any, Any], ctx: AppContext, staff: Principal, request_id: int
) -> Any:
    form = await form_of(request)
    decision, comment = text(form, "decision", 10), text(form, "comment", 500)
    try:
        if decision not in ("approve", "reject"):
            raise DomainError("decision_missing", "请选择批准或不批准", "Choose approve or reject.")
        decided = await facility_service.decide(ctx, staff, request_id, decision == "approve", comment)
    except DomainError as err:
        return await _request_page(
            request, ctx, staff, request_id, err.status, problem=labels.words(err), comment=comment
        )
    if decided.status == "approved":
        flash(request, f"已批准，新的约定机构自 {decided.effective_from} 起生效")
    else:
        flash(request, "已决定不批准")
    return redirect(f"{ROOT}/review/change-requests/{request_id}")


@get("/review/change-requests/{request_id:int}/evidence/{evidence_id:int}/pages/{index:int}")
async def evidence_page(
    ctx: AppContext, staff: Principal, request_id: int, evidence_id: int, index: int
) -> Response[bytes]:
    sha256, content_type = await facility_service.evidence_file(staff, request_id, evidence_id)
    data, media = await page_image(ctx.blobs.get(sha256), content_type, index)
    return Response(data, media_type=media, headers=picture_headers())


# ---- disputes (P2) -----------------------------------------------------------------------------------------------


@get("/review/disputes")
async def disputes(
    request: Request[Any, Any, Any], ctx: AppContext, reviewer: Principal, status: str | None = None
) -> Any:
    status = status if status in ("open", "in_review", "confirmed", "rejected") else None
    items = await disputes_service.queue(status, 100)
    members = {d.member_id: await _member(d.member_id) for d in items}
    names = await _names({d.facility_id for d in items})
    return await desk_page(
        request,
        ctx,
        reviewer,
        "console/disputes.html",
        "disputes",
        items=items,
        members=members,
        names=names,
        filters={"status": status or ""},
    )


async def _dispute_page(
    request: Request[Any, Any, Any],
    ctx: AppContext,
    reviewer: Principal,
    dispute_id: int,
    status: int = 200,
    **extra: Any,
) -> Any:
    d = await disputes_service.one(dispute_id)
    row = await ledger.movement(d.settlement_id)
    settlement = ledger.view(row, await facility_name(row["facility"])) if row else None
    return await desk_page(
        request,
        ctx,
        reviewer,
        "console/dispute.html",
        "disputes",
        status=status,
        d=d,
        s=settlement,
        member=await _member(d.member_id),
        **extra,
    )


@get("/review/disputes/{dispute_id:int}")
async def dispute(request: Request[Any, Any, Any], ctx: AppContext, reviewer: Principal, dispute_id: int) -> Any:
    return await _dispute_page(request, ctx, reviewer, dispute_id)


@post("/review/disputes/{dispute_id:int}/take", status_code=200)
async def take_dispute(request: Request[Any, Any, Any], ctx: AppContext, reviewer: Principal, dispute_id: int) -> Any:
    try:
        await disputes_service.take(ctx, reviewer, dispute_id)
    except DomainError as err:
        return await _dispute_page(request, ctx, reviewer, dispute_id, err.status, problem=labels.words(err))
    flash(request, "已领取，由您处理此异议")
    return redirect(f"{ROOT}/review/disputes/{dispute_id}")


@post("/review/disputes/{dispute_id:int}/decision", status_code=200)
async def decide_dispute(request: Request[Any, Any, Any], ctx: AppContext, reviewer: Principal, dispute_id: int) -> Any:
    form = await form_of(request)
    decision, reason = text(form, "decision", 10), text(form, "reason", 500)
    try:
        if decision not in ("confirm", "reject") or not reason:
            raise DomainError(
                "decision_incomplete",
                "请选择异议成立或不成立，并填写理由",
                "Choose and give a reason.",
                errors=[FieldError(field="reason", message="请填写理由")] if not reason else None,
            )
        decided = await disputes_service.decide(ctx, reviewer, dispute_id, decision, reason)
    except DomainError as err:
        return await _dispute_page(
            request, ctx, reviewer, dispute_id, err.status, problem=labels.words(err), reason=reason
        )
    flash(request, "异议成立，原结算已冲正" if decided.status == "confirmed" else "已决定异议不成立")
    return redirect(f"{ROOT}/review/disputes/{dispute_id}")


@get("/review/disputes/{dispute_id:int}/photo")
async def dispute_photo(ctx: AppContext, reviewer: Principal, dispute_id: int) -> Response[bytes]:
    sha256, content_type = await disputes_service.photo(dispute_id)
    data, media = await page_image(ctx.blobs.get(sha256), content_type, 0)
    return Response(data, media_type=media, headers=picture_headers())
