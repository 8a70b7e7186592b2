"""有异议: a resident disputes a counter settlement from its detail (P2): reason, an optional photo, then the status
and the outcome on the same detail page. The API's own ``disputes.service`` decides (window, one open dispute)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post

from member_api.benefits import service as benefits_service
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, FieldError
from member_api.core.uploads import check_uploads
from member_api.disputes import service as disputes_service
from member_api.web.app.resident import ROOT, Resident
from member_api.web.common import labels
from member_api.web.common.forms import form_of, problem, text, uploads
from member_api.web.common.pages import flash, page, redirect

UPLOAD_LIMIT = 8 * 1_048_576  # as the API's dispute route
REASONS = labels.DISPUTE_REASONS
STATUSES = labels.DISPUTE_STATUSES


async def disputes_of(member_id: int, settlement_id: int) -> list[Any]:
    return [d for d in await disputes_service.of_member(member_id) if d.settlement_id == settlement_id]


async def _form(resident: Resident, settlement_id: int, status: int = 200, **extra: Any) -> Any:
    item = await benefits_service.one(resident.member_id, settlement_id)
    return page(
        "app/dispute.html",
        status=status,
        resident=resident,
        tab="history",
        item=item,
        reasons=REASONS,
        labels=labels,
        **extra,
    )


@get("/history/{settlement_id:int}/dispute")
async def dispute_form(resident: Resident, settlement_id: int) -> Any:
    return await _form(resident, settlement_id, form={})


@post("/history/{settlement_id:int}/dispute", status_code=200, request_max_body_size=UPLOAD_LIMIT)
async def file_dispute(request: Request[Any, Any, Any], ctx: AppContext, resident: Resident, settlement_id: int) -> Any:
    form = await form_of(request)
    reason, words = text(form, "reason", 20), text(form, "text", 1000)
    try:
        if reason not in REASONS:
            raise DomainError(
                "validation_error",
                "请选择异议原因",
                "Choose a reason.",
                errors=[FieldError(field="reason", message="请选择异议原因")],
            )
        photos = uploads(form, "photo")
        photo = (await check_uploads(ctx.settings, photos[:1], "photo"))[0] if photos else None
        await disputes_service.file(ctx, resident.caller, resident.member_id, settlement_id, reason, words, photo)
    except DomainError as err:
        return await _form(
            resident,
            settlement_id,
            status=err.status,
            problem=problem(err, lambda m: m if any("\u4e00" <= c <= "\u9fff" for c in m) else "请检查此项"),
            form={"reason": reason, "text": words},
        )
    flash(request, "异议已提交，医保经办机构处理后会通知您")
    return redirect(f"{ROOT}/history/{settlement_id}")
