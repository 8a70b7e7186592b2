"""Claims: newborn (R5, R9) and referral (R10) claims with receipt photos per item, submission, review outcome."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict

from member_api.claims import service as claims_service
from member_api.claims.schemas import ClaimCreate, ClaimView
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, FieldError
from member_api.core.uploads import check_uploads, file_response
from member_api.facilities import service as facility_service
from member_api.facilities.schemas import FacilityView
from member_api.referrals import service as referrals_service
from member_api.web.app.home import claim_windows
from member_api.web.app.resident import ROOT, Resident
from member_api.web.common import labels
from member_api.web.common.errors import wants_json
from member_api.web.common.forms import form_of, number, problem, text, uploads
from member_api.web.common.pages import PAGE_HEADERS, flash, page, redirect

UPLOAD_LIMIT = 6 * 5 * 1_048_576  # as the API's receipts route
ITEM_ROWS = 5
AMOUNTS = ("general_fee", "compliant", "non_compliant")
OUTSIDE = "outside"


async def _all_facilities() -> list[FacilityView]:
    found: list[FacilityView] = []
    cursor = None
    while True:
        batch = await facility_service.search(
            division=None, kind=None, tier=None, q=None, near=None, cursor=cursor, limit=100
        )
        found += batch.items
        if not batch.next_cursor:
            return found
        cursor = batch.next_cursor


async def _names(ids: set[int | None]) -> dict[int, str]:
    names: dict[int, str] = {}
    for fid in ids:
        if fid:
            try:
                names[fid] = (await facility_service.facility_facts(fid))["name"]
            except DomainError:
                names[fid] = f"机构 {fid}"
    return names


@get("/claims")
async def claims(ctx: AppContext, resident: Resident) -> Any:
    mine = await claims_service.list_for_member(resident.member_id)
    referrals = await referrals_service.member_referrals(resident.member_id)
    names = await _names({r.target_facility_id for r in referrals} | {c.lodged_with_id for c in mine})
    return page(
        "app/claims.html",
        resident=resident,
        tab="claims",
        claims=mine,
        referrals=referrals,
        names=names,
        windows=claim_windows(ctx),
        labels=labels,
    )


async def _new_page(ctx: AppContext, resident: Resident, kind: str, status: int = 200, **extra: Any) -> Any:
    referrals = await referrals_service.member_referrals(resident.member_id) if kind == "referral" else []
    return page(
        "app/claim_new.html",
        status=status,
        resident=resident,
        tab="claims",
        kind=kind,
        referrals=referrals,
        names=await _names({r.target_facility_id for r in referrals}),
        facilities=await _all_facilities() if kind == "newborn" else [],
        rows=range(ITEM_ROWS),
        windows=claim_windows(ctx),
        labels=labels,
        today=claim_windows(ctx)["today"],
        **extra,
    )


@get("/claims/new")
async def new_claim(ctx: AppContext, resident: Resident, kind: str = "newborn") -> Any:
    kind = kind if kind in labels.CLAIM_KINDS else "newborn"
    return await _new_page(ctx, resident, kind, form={})


def _fen(value: str, field: str, errors: list[FieldError]) -> int:
    """ "12.5" yuan -> 1250 fen; at most two decimals, never negative."""
    if not value:
        return 0
    try:
        amount = Decimal(value.replace(",", "").replace("，", ""))
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")) or amount > 1_000_000:
        errors.append(FieldError(field=field, message="amount"))  # words: labels.FIELD_MESSAGES
        return 0
    return int(amount * 100)


def _items(
    form: FormMultiDict, kind: str, referral_target: int | None
) -> tuple[list[dict[str, Any]], list[FieldError], list[int]]:
    """The filled item rows as the API's item bodies, the amount errors, and which form row each item came from
    (``items[n]`` in a refusal counts filled rows only)."""
    items: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    rows: list[int] = []
    for row in range(ITEM_ROWS):
        values = {name: text(form, f"{name}_{row}", 200) for name in ("care_date", "facility_id", "out_of_city_name")}
        amounts = {name: text(form, f"{name}_{row}", 20) for name in AMOUNTS}
        if not values["care_date"] and not any(amounts.values()):
            continue
        n = len(items)
        item: dict[str, Any] = {"care_date": values["care_date"] or None}
        item.update({f"{name}_fen": _fen(amounts[name], f"items[{n}].{name}_fen", errors) for name in AMOUNTS})
        if kind == "referral":
            item["facility_id"] = referral_target
        elif values["facility_id"] == OUTSIDE:
            item["out_of_city_name"] = values["out_of_city_name"] or None
        elif values["facility_id"].isdigit():
            item["facility_id"] = int(values["facility_id"])
        items.append(item)
        rows.append(row)
    return items, errors, rows


def _row_errors(fields: dict[str, str], rows: list[int]) -> dict[int, list[str]]:
    """{form row: [words]} from ``items[n]...`` fields of a refusal."""
    found: dict[int, list[str]] = {}
    for field, words in fields.items():
        if field.startswith("items[") and "]" in field:
            index = field[6 : field.index("]")]
            if index.isdigit() and int(index) < len(rows):
                found.setdefault(rows[int(index)], []).append(words)
    return found


@post("/claims/new", status_code=200)
async def create_claim(request: Request[Any, Any, Any], ctx: AppContext, resident: Resident) -> Any:
    form = await form_of(request)
    kind = text(form, "kind", 16)
    kind = kind if kind in labels.CLAIM_KINDS else "newborn"
    referral_id = number(form, "referral_id")
    referral = None
    if kind == "referral" and referral_id:
        referral = next(
            (r for r in await referrals_service.member_referrals(resident.member_id) if r.id == referral_id), None
        )
    items, errors, rows = _items(form, kind, referral.target_facility_id if referral else None)
    try:
        if errors:
            raise DomainError("validation_error", "金额格式不正确（最多两位小数）", "Bad amounts.", errors=errors)
        if not items:
            raise DomainError("validation_error", "请至少填写一项就诊明细", "Fill in at least one item.")
        body: dict[str, Any] = {"kind": kind, "items": items}
        if kind == "referral":
            body["referral_id"] = referral.id if referral else None
        try:
            req = msgspec.convert(body, ClaimCreate)
        except msgspec.ValidationError as exc:
            raise DomainError(
                "validation_error",
                "填写的内容有误，请检查",
                str(exc),
                errors=[FieldError(field="items", message=str(exc))],
            ) from exc
        claim = await claims_service.create(ctx, resident.caller.member_id, resident.principal, resident.member_id, req)
    except DomainError as err:
        shown = problem(err, labels.field_message)
        return await _new_page(
            ctx,
            resident,
            kind,
            status=err.status,
            problem=shown,
            row_errors=_row_errors(shown["fields"], rows),
            form={k: v for k, v in form.items() if isinstance(v, str)},
        )
    flash(request, "已保存草稿，请为每一项上传票据照片后提交")
    return redirect(f"{ROOT}/claims/{claim.id}")


def _timeline(claim: ClaimView) -> list[dict[str, Any]]:
    steps = [("创建草稿", claim.created_at), ("提交申请", claim.submitted_at), ("开始审核", claim.review_started_at)]
    decided = labels.CLAIM_STATUSES.get(claim.status, claim.status) if claim.decided_at else "审核结果"
    steps.append((decided, claim.decided_at))
    done = [at is not None for _, at in steps]
    current = done.index(False) if False in done else None
    return [
        {"label": label, "at": at, "state": "done" if at else ("current" if i == current else "todo")}
        for i, (label, at) in enumerate(steps)
    ]


async def _claim_page(ctx: AppContext, resident: Resident, claim_id: int, status: int = 200, **extra: Any) -> Any:
    claim = await claims_service.view(claim_id, resident.member_id)
    names = await _names({i.facility_id for i in claim.items} | {claim.lodged_with_id})
    return page(
        "app/claim.html",
        status=status,
        resident=resident,
        tab="claims",
        claim=claim,
        names=names,
        timeline=_timeline(claim),
        windows=claim_windows(ctx),
        labels=labels,
        **extra,
    )


@get("/claims/{claim_id:int}")
async def claim_detail(ctx: AppContext, resident: Resident, claim_id: int) -> Any:
    return await _claim_page(ctx, resident, claim_id)


@post("/claims/{claim_id:int}/receipts", status_code=200, request_max_body_size=UPLOAD_LIMIT)
async def add_receipts(request: Request[Any, Any, Any], ctx: AppContext, resident: Resident, claim_id: int) -> Any:
    form = await form_of(request)
    try:
        item_id = number(form, "item_id")
        if item_id is None:
            raise DomainError("validation_error", "请选择要上传票据的明细", "item_id is required.")
        files = await check_uploads(ctx.settings, uploads(form, "files"), "files")
        await claims_service.add_receipts(ctx, resident.principal, resident.member_id, claim_id, item_id, files)
    except DomainError as err:
        if wants_json(request):
            raise
        return await _claim_page(ctx, resident, claim_id, status=err.status, problem=problem(err, labels.field_message))
    flash(request, f"已上传 {len(files)} 个文件")
    if wants_json(request):
        return Response({"location": f"{ROOT}/claims/{claim_id}"}, status_code=201, headers=PAGE_HEADERS)
    return redirect(f"{ROOT}/claims/{claim_id}")


@post("/claims/{claim_id:int}/submit", status_code=200)
async def submit_claim(request: Request[Any, Any, Any], ctx: AppContext, resident: Resident, claim_id: int) -> Any:
    try:
        await claims_service.submit(ctx, resident.principal, resident.member_id, claim_id)
    except DomainError as err:
        return await _claim_page(ctx, resident, claim_id, status=err.status, problem=problem(err, labels.field_message))
    flash(request, "申请已提交，请等待经办机构审核")
    return redirect(f"{ROOT}/claims/{claim_id}")


@get("/claims/{claim_id:int}/receipts/{receipt_id:int}")
async def receipt(ctx: AppContext, resident: Resident, claim_id: int, receipt_id: int) -> Response[bytes]:
    """A receipt file, to the member it belongs to (or their guardian acting for them) only."""
    sha256, content_type, filename = await claims_service.receipt_file(claim_id, receipt_id, resident.member_id)
    return file_response(ctx.blobs.get(sha256), content_type, filename)  # never rendered as a page; <img> shows it
