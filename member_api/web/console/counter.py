"""The counter (clerk): scan or type, see the member, enter the bill, quote, settle, print, reverse, refer.

Every step is the API's own service (``settlement.service.verify/quote/settle/reverse``,
``referrals.service.create_referral``) with the clerk's principal; amounts are typed in yuan and converted to
integer fen exactly. Keyboard first: the scan field keeps the focus and Enter submits each step. The bill is entered
as lines found in the catalogue (R18: code, count, unit price; the service values them); the three typed totals
remain for a transition as "manual entry".
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import FormMultiDict

from member_api.catalogue.schemas import FeeLineIn
from member_api.core.clock import LOCAL_TZ, local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, FieldError, not_found
from member_api.core.principal import Principal
from member_api.credential import service as credential_service
from member_api.facilities import service as facility_service
from member_api.facilities.schemas import CurrentDesignation
from member_api.ledger import service as ledger
from member_api.members.identity import mask_name
from member_api.members.service import member_view, members_by_id
from member_api.policy import parameters
from member_api.policy.reimbursement import remaining_caps
from member_api.referrals import service as referrals_service
from member_api.referrals.schemas import ReferralCreate, ReferralView
from member_api.settlement import service as settlement_service
from member_api.settlement.schemas import SettlementRequest, SettlementResult, VerifyRequest
from member_api.web.common import labels
from member_api.web.common.forms import form_of, text, yuan_to_fen
from member_api.web.common.pages import flash, redirect
from member_api.web.console.desk import desk_page, facility_name, new_key, once
from member_api.web.console.staff import ROOT

BILL_FIELDS = (("general_fee", "一般诊疗费"), ("compliant", "合规费用"), ("non_compliant", "目录外费用"))
_COUNT = re.compile(r"^\d{1,6}(?:\.\d{1,2})?$")


def identity_of(scan: str) -> dict[str, str | None]:
    """A scanned e-credential (a compact JWT: three dot-separated parts) or a typed ID number."""
    value = scan.strip()
    if value.count(".") == 2 and len(value) > 40:
        return {"credential": value, "id_number": None}
    return {"credential": None, "id_number": value.replace(" ", "").upper() or None}


async def scan_identity(ctx: AppContext, clerk: Principal, scan: str) -> dict[str, str | None]:
    """R8: member-api's QR code, a typed ID number, or the national e-credential (resolved to the ID number it names
    by the national decoding service; the steps after verify carry that ID number like a typed one)."""
    if identity_of(scan)["credential"]:
        return identity_of(scan)
    credential, id_number = await credential_service.resolve_scan(
        ctx, scan, clerk.facility_id, f"staff:{clerk.staff_id}"
    )
    return {"credential": credential, "id_number": id_number}


def _identity_from(form: FormMultiDict) -> dict[str, str | None]:
    return {"credential": text(form, "credential", 1024) or None, "id_number": text(form, "id_number", 32) or None}


def _typed_lines(form: FormMultiDict) -> list[dict[str, str]]:
    """The bill lines as typed (code, the name shown, count, unit price in yuan); rows left wholly empty dropped."""
    fields = ("line_code", "line_name", "line_count", "line_price")
    columns = [[str(v).strip()[:200] for v in form.getall(name, [])] for name in fields]
    rows = []
    for values in zip(*columns, strict=False):
        row = dict(zip(("code", "name", "count", "price"), values, strict=True))
        if row["code"] or row["count"] or row["price"]:
            rows.append(row)
    return rows[:250]


def _lines_from(typed: list[dict[str, str]], errors: dict[str, str]) -> list[FeeLineIn]:
    """R18: the typed lines as the API's items (counts up to 2 decimals, prices in yuan converted exactly)."""
    items = []
    for n, row in enumerate(typed):
        count_ok = bool(_COUNT.match(row["count"])) and Decimal(row["count"]) > 0
        price = yuan_to_fen(row["price"]) if row["price"] else None
        if not row["code"]:
            errors[f"line_code-{n}"] = "请从目录检索选择项目"
        if not count_ok:
            errors[f"line_count-{n}"] = "数量须大于 0，最多两位小数"
        if not price:
            errors[f"line_price-{n}"] = "单价（元）须大于 0，最多两位小数"
        if row["code"] and count_ok and price:
            items.append(
                FeeLineIn(line_no=n + 1, code=row["code"][:50], count=Decimal(row["count"]), unit_price_fen=price)
            )
    return items


def _bill_from(
    form: FormMultiDict, today: date
) -> tuple[dict[str, Any], dict[str, str], dict[str, str], list[dict[str, str]]]:
    """(settlement body fields, what was typed, field errors in words, the typed lines)."""
    lines = _typed_lines(form)
    typed = {name: text(form, name, 20) for name, _ in BILL_FIELDS}
    typed["visit_date"] = text(form, "visit_date", 10) or today.isoformat()
    typed["referral_id"] = text(form, "referral_id", 12)
    typed["emergency"] = "1" if text(form, "emergency", 5) else ""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {}
    for name, _ in BILL_FIELDS:
        fen = yuan_to_fen(typed[name] or "0")
        if fen is None:
            errors[name] = "请输入金额（元），最多两位小数，如 12.50"
        body[f"{name}_fen"] = fen or 0
    try:
        body["visit_date"] = date.fromisoformat(typed["visit_date"])
    except ValueError:
        errors["visit_date"] = "日期格式为 YYYY-MM-DD"
    if typed["referral_id"]:
        if typed["referral_id"].isdigit() and 0 < int(typed["referral_id"]) < 2**31:
            body["referral_id"] = int(typed["referral_id"])
        else:
            errors["referral_id"] = "转诊单号为数字"
    body["emergency"] = bool(typed["emergency"])
    if lines:
        if any(body[f"{n}_fen"] for n, _ in BILL_FIELDS):
            errors["general_fee"] = "已录入费用明细：手工合计请留空（二选一）"
        body["items"] = _lines_from(lines, errors)
        for name, _ in BILL_FIELDS:
            del body[f"{name}_fen"]
    elif not errors and sum(body[f"{n}_fen"] for n, _ in BILL_FIELDS) == 0:
        errors["general_fee"] = "请录入费用明细，或至少填写一项手工合计"
    return body, typed, errors, lines


_ITEM_FIELD = re.compile(r"^items\[(\d+)\]\.(count|unit_price_fen|code|line_no)$")


def _fields(err: DomainError) -> dict[str, str]:
    """A service's field errors, on the form's field names (``general_fee_fen`` -> ``general_fee``, a bill line's
    ``items[2].count`` -> ``line_count-2``)."""
    fields = {}
    for e in err.errors or []:
        line = _ITEM_FIELD.match(e.field)
        if line:
            column = {"unit_price_fen": "price", "line_no": "code"}.get(line.group(2), line.group(2))
            fields[f"line_{column}-{line.group(1)}"] = "请检查此行"
        else:
            fields[e.field.removesuffix("_fen")] = labels.field_message(e.message)
    return fields


async def _counter(
    request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal, status: int = 200, **context: Any
) -> Any:
    context.setdefault("scan", "")
    context.setdefault("today", local_today(ctx.clock).isoformat())
    context.setdefault("fields", BILL_FIELDS)
    context.setdefault("lines", [])
    context.setdefault("facility_id", clerk.facility_id)
    return await desk_page(request, ctx, clerk, "console/counter.html", "counter", status=status, **context)


@get("/counter", name="console-counter")
async def counter(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal) -> Any:
    return await _counter(request, ctx, clerk)


@post("/counter/verify", status_code=200)
async def verify(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal) -> Any:
    form = await form_of(request)
    scan = text(form, "scan", 1024)
    if not scan:
        return await _counter(
            request, ctx, clerk, 422, problem={"code": "scan_empty", "message_zh": "请扫码或输入身份证号"}
        )
    try:
        identity = await scan_identity(ctx, clerk, scan)
        member = await settlement_service.verify(ctx, clerk, VerifyRequest(**identity))
    except DomainError as err:
        return await _counter(request, ctx, clerk, err.status, problem=labels.words(err))
    return await _counter(request, ctx, clerk, member=member, identity=identity, typed={})


@post("/counter/quote", status_code=200)
async def quote(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal) -> Any:
    """The pre-settlement quote: the figures settling would give now; nothing is written."""
    form = await form_of(request)
    identity = _identity_from(form)
    body, typed, errors, lines = _bill_from(form, local_today(ctx.clock))
    member = None
    try:
        member = await settlement_service.verify(ctx, clerk, VerifyRequest(**identity))
        if errors:
            raise DomainError(
                "invalid_amount",
                "请检查标出的项目",
                "Check the marked fields.",
                errors=[FieldError(field=k, message=v) for k, v in errors.items()],
            )
        req = SettlementRequest(**body, **identity)
        quoted = await settlement_service.quote(ctx, clerk, req)
    except DomainError as err:
        fields = errors or _fields(err)
        return await _counter(
            request,
            ctx,
            clerk,
            err.status,
            member=member,
            identity=identity,
            typed=typed,
            problem=labels.words(err),
            field_errors=fields,
            lines=lines,
        )
    return await desk_page(
        request,
        ctx,
        clerk,
        "console/quote.html",
        "counter",
        member=member,
        quote=quoted,
        identity=identity,
        body=body,
        key=new_key(),
    )


def _items_of(form: FormMultiDict) -> list[FeeLineIn] | None:
    """The quoted lines the settle form carries (code, count, unit price in fen), or None for manual entry."""
    codes = [str(v) for v in form.getall("item_code", [])]
    if not codes:
        return None
    counts, prices = form.getall("item_count", []), form.getall("item_price_fen", [])
    return [
        FeeLineIn(line_no=n + 1, code=code[:50], count=Decimal(str(count)), unit_price_fen=int(str(price)))
        for n, (code, count, price) in enumerate(zip(codes, counts, prices, strict=True))
    ]


def _settlement_request(form: FormMultiDict) -> SettlementRequest:
    identity = _identity_from(form)
    try:
        return SettlementRequest(
            visit_date=date.fromisoformat(text(form, "visit_date", 10)),
            items=_items_of(form),
            general_fee_fen=int(text(form, "general_fee_fen", 12) or 0),
            compliant_fen=int(text(form, "compliant_fen", 12) or 0),
            non_compliant_fen=int(text(form, "non_compliant_fen", 12) or 0),
            emergency=text(form, "emergency", 5) == "1",
            referral_id=int(text(form, "referral_id", 12)) if text(form, "referral_id", 12) else None,
            quote_id=text(form, "quote_id", 2048) or None,
            **identity,
        )
    except (ValueError, ArithmeticError, msgspec.ValidationError) as exc:
        raise DomainError("form_invalid", "表单内容无效，请重新预结算", "The form is not valid.") from exc


@post("/counter/settle", status_code=200)
async def settle(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal) -> Any:
    """Settle under the form's Idempotency-Key (a double submit answers the first settlement), then the receipt."""
    form = await form_of(request)
    req = _settlement_request(form)
    try:
        result = await once(
            ctx,
            clerk,
            text(form, "idempotency_key", 255),
            "/v1/counter/settlements",
            req,
            SettlementResult,
            lambda lease: settlement_service.settle(ctx, clerk, req, lease),
        )
    except DomainError as err:
        identity = _identity_from(form)
        return await _counter(request, ctx, clerk, err.status, problem=labels.words(err), identity=identity, retry=True)
    if getattr(result, "changed_since_quote", False):
        flash(request, "结算时账户额度已变化，以下为实际结算金额", "warn")
    return redirect(f"{ROOT}/counter/settlements/{result.id}/receipt")


async def _own_settlement(clerk: Principal, settlement_id: int) -> dict[str, Any]:
    row = await ledger.movement(settlement_id)
    if row is None or row["facility"] != clerk.facility_id or row["kind"] not in (ledger.COUNTER, ledger.REVERSAL):
        raise not_found("结算记录", "settlement")
    return row


async def _member_words(member_id: int) -> dict[str, str]:
    view = await member_view(member_id)
    if view is None:
        return {"name_masked": "", "id_number_masked": ""}
    return {"name_masked": mask_name(view.name), "id_number_masked": view.id_number_masked}


@get("/counter/settlements/{settlement_id:int}/receipt")
async def receipt(
    request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal, settlement_id: int, paper: str = "thermal"
) -> Any:
    row = await _own_settlement(clerk, settlement_id)
    reversed_by = (await ledger.reversals_of([row["id"]])).get(row["id"])
    items = (await ledger.items_of([row["id"]])).get(row["id"]) if row.get("itemised") else None
    view = ledger.view(row, await facility_name(row["facility"]), reversed_by, items)
    annual, ooc = remaining_caps(parameters.for_year(row["year"]), await ledger.state(row["member"], row["year"]))
    return await desk_page(
        request,
        ctx,
        clerk,
        "console/receipt.html",
        "counter",
        s=view,
        member=await _member_words(row["member"]),
        remaining_fen=annual,
        remaining_out_of_city_fen=ooc,
        paper="a5" if paper == "a5" else "thermal",
        printed_at=ctx.clock.now().astimezone(LOCAL_TZ),
    )


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)


@get("/counter/today")
async def today(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal) -> Any:
    assert clerk.facility_id is not None
    day = local_today(ctx.clock)
    rows = await ledger.facility_movements(clerk.facility_id, *_day_bounds(day))
    reversed_ = await ledger.reversals_of([r["id"] for r in rows])
    name = await facility_name(clerk.facility_id)
    views = await members_by_id(sorted({r["member"] for r in rows}))  # one read for the day's members
    names = {v.id: mask_name(v.name) for v in views}
    items = [{"s": ledger.view(r, name, reversed_.get(r["id"])), "name": names.get(r["member"], "")} for r in rows]
    counter_rows = [i["s"] for i in items if i["s"].kind == ledger.COUNTER and i["s"].reversed_by is None]
    totals = {
        "count": len(counter_rows),
        "fund_fen": sum(s.fund_fen for s in counter_rows),
        "member_fen": sum(s.member_fen for s in counter_rows),
    }
    return await desk_page(request, ctx, clerk, "console/today.html", "today", items=items, day=day, totals=totals)


@get("/counter/settlements/{settlement_id:int}/reverse")
async def reverse_form(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal, settlement_id: int) -> Any:
    row = await _own_settlement(clerk, settlement_id)
    view = ledger.view(row, await facility_name(row["facility"]))
    return await desk_page(
        request,
        ctx,
        clerk,
        "console/reverse.html",
        "today",
        s=view,
        member=await _member_words(row["member"]),
        key=new_key(),
        reason="",
    )


@post("/counter/settlements/{settlement_id:int}/reverse", status_code=200)
async def reverse(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal, settlement_id: int) -> Any:
    form = await form_of(request)
    reason, key = text(form, "reason", 500), text(form, "idempotency_key", 255)
    try:
        if not reason:
            raise DomainError(
                "reason_required",
                "请填写冲正原因",
                "A reason is required.",
                errors=[FieldError(field="reason", message="请填写冲正原因")],
            )
        result = await once(
            ctx,
            clerk,
            key,
            f"/v1/counter/settlements/{settlement_id}/reversal",
            {"reason": reason},
            SettlementResult,
            lambda lease: settlement_service.reverse(ctx, clerk, settlement_id, reason, lease),
        )
    except DomainError as err:
        row = await _own_settlement(clerk, settlement_id)
        return await desk_page(
            request,
            ctx,
            clerk,
            "console/reverse.html",
            "today",
            status=err.status,
            s=ledger.view(row, await facility_name(row["facility"])),
            member=await _member_words(row["member"]),
            key=key or new_key(),
            reason=reason,
            problem=labels.words(err),
            field_errors=_fields(err),
        )
    flash(
        request,
        f"已冲正结算 #{settlement_id}，冲正单号 #{result.id}，已退回统筹额度 {result.fund_fen * -1 / 100:.2f} 元",
    )
    return redirect(f"{ROOT}/counter/today")


# ---- referrals (R10) ---------------------------------------------------------------------------------------------


async def _hospitals() -> list[Any]:
    """Shaoguan designated hospitals (tier 2 and 3), the targets a referral may name."""
    found = []
    for tier in ("secondary", "tertiary"):
        listed = await facility_service.search(
            division=None, kind=None, tier=tier, q=None, near=None, cursor=None, limit=200
        )
        found += [f for f in listed.items if f.in_city]
    return found


async def _referral_page(
    request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal, status: int = 200, **context: Any
) -> Any:
    today_ = local_today(ctx.clock)
    context.setdefault(
        "typed", {"valid_from": today_.isoformat(), "valid_to": (today_ + timedelta(days=30)).isoformat()}
    )
    context.setdefault("key", new_key())
    return await desk_page(
        request, ctx, clerk, "console/referral.html", "referral", status=status, hospitals=await _hospitals(), **context
    )


@get("/counter/referral")
async def referral_form(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal) -> Any:
    return await _referral_page(request, ctx, clerk)


@post("/counter/referral", status_code=200)
async def referral(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal) -> Any:
    form = await form_of(request)
    typed = {
        k: text(form, k, 1024) for k in ("scan", "target_facility_id", "valid_from", "valid_to", "idempotency_key")
    }
    try:
        target = int(typed["target_facility_id"]) if typed["target_facility_id"].isdigit() else 0
        body = {
            "target_facility_id": target,
            "valid_from": typed["valid_from"],
            "valid_to": typed["valid_to"],
            **identity_of(typed["scan"]),
        }
        try:
            req = msgspec.convert(body, ReferralCreate)
        except msgspec.ValidationError as exc:
            raise DomainError(
                "referral_form_invalid",
                "请选择转往医院并填写有效期",
                "Choose a hospital and the dates.",
                errors=[
                    FieldError(field=k, message="required")
                    for k in ("target_facility_id", "valid_from", "valid_to")
                    if not (typed[k].isdigit() and int(typed[k]) > 0 if k == "target_facility_id" else typed[k])
                ],
            ) from exc
        made = await once(
            ctx,
            clerk,
            typed["idempotency_key"],
            "/v1/counter/referrals",
            req,
            ReferralView,
            lambda _lease: referrals_service.create_referral(ctx, clerk, req),
            completes_itself=False,
        )
    except DomainError as err:
        return await _referral_page(
            request, ctx, clerk, err.status, typed=typed, problem=labels.words(err), key=typed["idempotency_key"]
        )
    flash(request, f"转诊已登记，转诊单号 #{made.id}（{made.valid_from} 至 {made.valid_to}）")
    return redirect(f"{ROOT}/counter/referral")


# ---- clerk-assisted designation (R2) for residents without a phone -----------------------------------------------


async def _assist_page(
    request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal, status: int = 200, **context: Any
) -> Any:
    assert clerk.facility_id is not None
    here = await facility_service.detail(clerk.facility_id)
    context.setdefault("typed", {})
    context.setdefault("key", new_key())
    return await desk_page(request, ctx, clerk, "console/assist.html", "assist", status=status, here=here, **context)


@get("/counter/assist")
async def assist_form(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal) -> Any:
    return await _assist_page(request, ctx, clerk)


@post("/counter/assist/designation", status_code=200)
async def assist_designation(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal) -> Any:
    """The clerk records the first designation of the year (the clerk's institution and one of its stations) after
    checking the ID card: ``facilities.designation.record_for_member``, with the form's Idempotency-Key."""
    form = await form_of(request)
    typed = {k: text(form, k, 32) for k in ("id_number", "station_id", "idempotency_key")}
    station = int(typed["station_id"]) if typed["station_id"].isdigit() else None
    id_number = typed["id_number"].replace(" ", "").upper()
    try:
        if text(form, "checked", 5) != "1":
            raise DomainError("id_card_not_checked", "请先核验参保人身份证原件并勾选确认", "Check the ID card.")
        done = await once(
            ctx,
            clerk,
            typed["idempotency_key"],
            "/v1/counter/designations",
            {"id_number": id_number, "station_id": station},
            CurrentDesignation,
            lambda _lease: facility_service.record_for_member(ctx, clerk, id_number, station),
            completes_itself=False,
        )
    except DomainError as err:
        return await _assist_page(
            request, ctx, clerk, err.status, typed=typed, problem=labels.words(err), key=new_key()
        )
    pair = done.designation
    flash(request, f"已为参保人签约本机构（{pair.year if pair else ''} 年度）" if pair else "已签约")
    return redirect(f"{ROOT}/counter/assist")
