"""The counter completes what the app starts, for residents without a smartphone or a phone on file (R2, R14).

- **Binding by code**: the resident's app shows an 8-character code (``members.service.binding_code``); the clerk
  checks the ID card and types the code and the ID number (``members.service.bind_at_counter``).
- **Change requests with scanned evidence**, filed by the clerk after checking the ID card
  (``facilities.designation.file_change_request_for_member``).
- **The clerk's own R14 confirmation**: last month's settled visits of the clerk's unit, confirmed by the 5th
  (``agency.reports.facility_report`` / ``confirm``).

Every form carries an ``Idempotency-Key`` (``desk.once``): a double submit does one thing.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import Parameter

from member_api.agency import reports
from member_api.agency.schemas import FacilityReport, Submission, SubmissionRequest
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, FieldError
from member_api.core.principal import Principal
from member_api.core.uploads import check_uploads
from member_api.facilities import service as facility_service
from member_api.facilities.schemas import ChangeRequestView
from member_api.members import service as members_service
from member_api.members.schemas import CounterBinding
from member_api.web.common import labels
from member_api.web.common.forms import form_of, number, text, uploads
from member_api.web.common.pages import flash, redirect
from member_api.web.console.desk import desk_page, new_key, once
from member_api.web.console.staff import ROOT

UPLOAD_LIMIT = 6 * 5 * 1_048_576  # as the API's change-request route
CHECK_ID_CARD = DomainError(
    "id_card_not_checked",
    "请先核验参保人身份证原件并勾选确认",
    "Check the ID card first.",
    errors=[FieldError(field="checked", message="请勾选：已核验身份证原件")],
)


async def _unit(clerk: Principal) -> Any:
    """The clerk's institution (a station clerk works for the institution that runs the station)."""
    assert clerk.facility_id is not None
    here = await facility_service.detail(clerk.facility_id)
    return await facility_service.detail(here.parent_id) if here.parent_id else here


# ---- binding by code ------------------------------------------------------------------------------------------


async def _bind_page(
    request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal, status: int = 200, **context: Any
) -> Any:
    context.setdefault("typed", {})
    context.setdefault("key", new_key())
    return await desk_page(request, ctx, clerk, "console/bind.html", "assist", status=status, **context)


@get("/counter/bind")
async def bind_form(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal) -> Any:
    return await _bind_page(request, ctx, clerk)


@post("/counter/bind", status_code=200)
async def bind(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal) -> Any:
    """Bind the phone account that shows this code to the member whose ID card the clerk checked."""
    form = await form_of(request)
    typed = {k: text(form, k, 32) for k in ("binding_code", "id_number", "idempotency_key")}
    code = typed["binding_code"].replace(" ", "").upper()
    id_number = typed["id_number"].replace(" ", "").upper()
    try:
        if text(form, "checked", 5) != "1":
            raise CHECK_ID_CARD
        done = await once(
            ctx,
            clerk,
            typed["idempotency_key"],
            "/v1/counter/bindings",
            {"binding_code": code, "id_number": id_number},
            CounterBinding,
            lambda _lease: members_service.bind_at_counter(ctx, clerk, code, id_number),
            completes_itself=False,
        )
    except DomainError as err:
        shown = labels.words(err)
        return await _bind_page(request, ctx, clerk, err.status, typed=typed, problem=shown, fields=shown["fields"])
    moved = "（原绑定的手机号已解绑并收到通知）" if done.replaced_binding else ""
    flash(request, f"已为 {done.name_masked}（{done.id_number_masked}）绑定手机 {done.phone_masked}{moved}")
    return redirect(f"{ROOT}/counter/bind")


# ---- change requests filed at the counter -----------------------------------------------------------------------


async def _change_page(
    request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal, status: int = 200, **context: Any
) -> Any:
    unit = await _unit(clerk)
    context.setdefault("typed", {})
    context.setdefault("key", new_key())
    division = await facility_service.search(
        division=unit.division, kind=None, tier="primary", q=None, near=None, cursor=None, limit=100
    )
    institutions = [await facility_service.detail(f.id) for f in division.items if f.kind != "village_station"]
    return await desk_page(
        request,
        ctx,
        clerk,
        "console/change_file.html",
        "assist",
        status=status,
        unit=unit,
        institutions=institutions,
        reasons=labels.CHANGE_REASONS,
        **context,
    )


@get("/counter/change-request")
async def change_form(
    request: Request[Any, Any, Any],
    ctx: AppContext,
    clerk: Principal,
    id_number: Annotated[str | None, Parameter(max_length=32)] = None,
    institution_id: Annotated[int | None, Parameter(ge=1)] = None,
) -> Any:
    typed = {"id_number": id_number or "", "institution_id": str(institution_id or "")}
    return await _change_page(request, ctx, clerk, typed=typed)


@post("/counter/change-request", status_code=200, request_max_body_size=UPLOAD_LIMIT)
async def change_file(request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal) -> Any:
    form = await form_of(request)
    typed = {
        k: text(form, k, 500)
        for k in ("id_number", "institution_id", "station_id", "reason", "reason_text", "idempotency_key")
    }
    id_number = typed["id_number"].replace(" ", "").upper()
    institution_id, station_id = number(form, "institution_id"), number(form, "station_id")
    try:
        if text(form, "checked", 5) != "1":
            raise CHECK_ID_CARD
        errors = []
        if institution_id is None:
            errors.append(FieldError(field="institution_id", message="请选择变更后的机构"))
        if typed["reason"] not in labels.CHANGE_REASONS:
            errors.append(FieldError(field="reason", message="请选择变更原因"))
        if errors:
            raise DomainError("validation_error", "请检查标出的项目", "Check the marked fields.", errors=errors)
        assert institution_id is not None
        files = await check_uploads(ctx.settings, uploads(form, "evidence"), "evidence")
        payload = {
            "id_number": id_number,
            "institution_id": institution_id,
            "station_id": station_id,
            "reason": typed["reason"],
            "reason_text": typed["reason_text"],
            "evidence": [f.data.hex()[:64] + str(len(f.data)) for f in files],
        }
        made = await once(
            ctx,
            clerk,
            typed["idempotency_key"],
            "/v1/counter/change-requests",
            payload,
            ChangeRequestView,
            lambda _lease: facility_service.file_change_request_for_member(
                ctx,
                clerk,
                id_number,
                institution_id,
                station_id,
                typed["reason"],
                typed["reason_text"],
                files,
            ),
            completes_itself=False,
        )
    except DomainError as err:
        shown = labels.words(err)
        return await _change_page(request, ctx, clerk, err.status, typed=typed, problem=shown, fields=shown["fields"])
    flash(request, f"变更申请 #{made.id} 已提交，经审核批准后次日生效")
    return redirect(f"{ROOT}/review/change-requests/{made.id}")


# ---- the clerk's own R14 report ---------------------------------------------------------------------------------


def _last_month(today: date) -> tuple[int, int]:
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


async def _report_page(
    request: Request[Any, Any, Any],
    ctx: AppContext,
    clerk: Principal,
    year: int,
    month: int,
    status: int = 200,
    **context: Any,
) -> Any:
    unit = await _unit(clerk)
    report: FacilityReport | None = None
    submission: Submission | None = None
    try:
        report = await reports.facility_report(ctx.clock, year, month, unit.id)
        submission = await reports.comparison(ctx.clock, year, month, unit.id)
    except DomainError as err:
        if report is None:
            context.setdefault("problem", labels.words(err))
    return await desk_page(
        request,
        ctx,
        clerk,
        "console/my_report.html",
        "my_report",
        status=status,
        unit=unit,
        report=report,
        submission=submission,
        form_key=new_key(),
        year=year,
        month=month,
        **context,
    )


@get("/counter/report")
async def my_report(
    request: Request[Any, Any, Any],
    ctx: AppContext,
    clerk: Principal,
    year: Annotated[int | None, Parameter(ge=2000, le=2100)] = None,
    month: Annotated[int | None, Parameter(ge=1, le=12)] = None,
) -> Any:
    default = _last_month(local_today(ctx.clock))
    return await _report_page(request, ctx, clerk, year or default[0], month or default[1])


@post("/counter/report/{year:int}/{month:int}/submission", status_code=200)
async def submit_report(
    request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal, year: int, month: int
) -> Any:
    """R14: the unit's own statistics as the report download's CSV, under the form's Idempotency-Key."""
    form = await form_of(request)
    try:
        files = uploads(form, "file")
        if not files:
            raise DomainError("file_required", "请选择要上传的报表文件（CSV）", "Choose a CSV file.")
        lines = reports.parse_upload(await files[0].read())
        done = await once(
            ctx,
            clerk,
            text(form, "key", 64),
            f"/v1/agency/reports/{year}/{month}/submissions",
            SubmissionRequest(lines=lines),
            Submission,
            lambda _: reports.submit(ctx.clock, clerk, year, month, lines, "upload"),
            completes_itself=False,
        )
    except DomainError as err:
        return await _report_page(request, ctx, clerk, year, month, err.status, problem=labels.words(err))
    if done.matches:
        flash(request, "报表已报送，与系统数据一致")
    else:
        flash(request, "报表已报送：与系统数据有差异，请核对下表", "error")
    return redirect(f"{ROOT}/counter/report?year={year}&month={month}")


@post("/counter/report/{year:int}/{month:int}/confirm", status_code=200)
async def confirm_report(
    request: Request[Any, Any, Any], ctx: AppContext, clerk: Principal, year: int, month: int
) -> Any:
    try:
        report = await reports.confirm(ctx.clock, clerk, year, month)
    except DomainError as err:
        return await _report_page(request, ctx, clerk, year, month, err.status, problem=labels.words(err))
    late = "" if report.confirmation is None or report.confirmation.on_time else "（已超过每月 5 日，记为逾期确认）"
    flash(request, f"已确认 {year} 年 {month} 月月报{late}")
    return redirect(f"{ROOT}/counter/report?year={year}&month={month}")
