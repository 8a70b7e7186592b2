"""Clinics: search (name, division, near me), choose the pair, change requests with evidence photos, history."""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import Parameter

from member_api.core.context import AppContext
from member_api.core.divisions import DIVISIONS
from member_api.core.errors import DomainError
from member_api.core.uploads import check_uploads
from member_api.facilities import service as facility_service
from member_api.facilities.schemas import FacilityPage
from member_api.web.app.resident import ROOT, Resident
from member_api.web.common import labels
from member_api.web.common.errors import wants_json
from member_api.web.common.forms import form_of, number, problem, text, uploads
from member_api.web.common.pages import PAGE_HEADERS, flash, page, redirect

UPLOAD_LIMIT = 6 * 5 * 1_048_576  # as the API's change-request route
_NEAR = re.compile(r"^-?\d{1,3}(\.\d{1,10})?,-?\d{1,3}(\.\d{1,10})?$")
Text = Annotated[str | None, Parameter(max_length=50)]


async def _overview(ctx: AppContext, resident: Resident) -> dict[str, Any]:
    current = await facility_service.current(ctx, resident.member_id, None)
    requests = await facility_service.member_requests(resident.member_id)
    names = {}
    for r in requests:
        for fid in (r.institution_id, r.station_id):
            if fid and fid not in names:
                try:
                    names[fid] = (await facility_service.detail(fid)).name
                except DomainError:
                    names[fid] = f"机构 {fid}"
    return {
        "current": current,
        "requests": requests,
        "names": names,
        "history": await facility_service.history(resident.member_id),
    }


@get("/clinics")
async def clinics(
    ctx: AppContext,
    resident: Resident,
    q: Text = None,
    division: Text = None,
    near: Text = None,
    cursor: Annotated[str | None, Parameter(max_length=40)] = None,
) -> Any:
    results: FacilityPage | None = None
    search_problem = None
    near = near if near and _NEAR.match(near) else None
    if division is None and not (q or near or cursor):  # first visit: the member's own division
        division = resident.acting.view.division
    division = division if division in DIVISIONS else None  # "all" (or anything else): every division
    try:
        results = await facility_service.search(
            division=division, kind=None, tier="primary", q=q or None, near=near, cursor=cursor, limit=15
        )
    except DomainError as err:
        search_problem = problem(err)
    return page(
        "app/clinics.html",
        resident=resident,
        tab="clinics",
        q=q or "",
        division=division or "",
        near=near or "",
        divisions=list(DIVISIONS),
        results=results,
        search_problem=search_problem,
        labels=labels,
        **await _overview(ctx, resident),
    )


async def _detail_page(
    ctx: AppContext, resident: Resident, facility_id: int, station_id: int | None, status: int = 200, **extra: Any
) -> Any:
    facility = await facility_service.detail(facility_id)
    current = await facility_service.current(ctx, resident.member_id, None)
    return page(
        "app/clinic.html",
        status=status,
        resident=resident,
        tab="clinics",
        facility=facility,
        station_id=station_id,
        current=current,
        labels=labels,
        **extra,
    )


@get("/clinics/{facility_id:int}")
async def clinic(
    ctx: AppContext, resident: Resident, facility_id: int, station: Annotated[int | None, Parameter(ge=1)] = None
) -> Any:
    facility = await facility_service.detail(facility_id)
    if facility.kind == "village_station" and facility.parent_id:  # a station is chosen with its institution
        return redirect(f"{ROOT}/clinics/{facility.parent_id}?station={facility.id}")
    return await _detail_page(ctx, resident, facility_id, station)


@post("/clinics/choose", status_code=200)
async def choose(request: Request[Any, Any, Any], ctx: AppContext, resident: Resident) -> Any:
    form = await form_of(request)
    institution_id, station_id = number(form, "institution_id"), number(form, "station_id")
    if institution_id is None:
        return redirect(f"{ROOT}/clinics")
    try:
        await facility_service.choose(ctx, resident.principal, resident.member_id, institution_id, station_id)
    except DomainError as err:
        if err.code == "change_request_required":
            flash(request, "本年度已选定机构，变更需提交申请，经审核后次日生效", "warn")
            query = f"institution_id={institution_id}" + (f"&station_id={station_id}" if station_id else "")
            return redirect(f"{ROOT}/clinics/change?{query}")
        return await _detail_page(
            ctx, resident, institution_id, station_id, status=err.status, problem=problem(err, labels.field_message)
        )
    flash(request, "已选定约定医疗机构，今日起生效")
    return redirect(f"{ROOT}/clinics")


async def _change_page(
    ctx: AppContext, resident: Resident, institution_id: int, station_id: int | None, status: int = 200, **extra: Any
) -> Any:
    institution = await facility_service.detail(institution_id)
    station = next((s for s in institution.stations if s.id == station_id), None)
    return page(
        "app/change.html",
        status=status,
        resident=resident,
        tab="clinics",
        institution=institution,
        station=station,
        current=await facility_service.current(ctx, resident.member_id, None),
        reasons=labels.CHANGE_REASONS,
        labels=labels,
        **extra,
    )


@get("/clinics/change")
async def change_form(
    ctx: AppContext,
    resident: Resident,
    institution_id: Annotated[int, Parameter(ge=1)],
    station_id: Annotated[int | None, Parameter(ge=1)] = None,
) -> Any:
    return await _change_page(ctx, resident, institution_id, station_id, form={})


@post("/clinics/change", status_code=200, request_max_body_size=UPLOAD_LIMIT)
async def change_submit(request: Request[Any, Any, Any], ctx: AppContext, resident: Resident) -> Any:
    form = await form_of(request)
    institution_id, station_id = number(form, "institution_id"), number(form, "station_id")
    reason, reason_text = text(form, "reason", 32), text(form, "reason_text", 500)
    try:
        if institution_id is None or reason not in labels.CHANGE_REASONS:
            raise DomainError("validation_error", "请选择变更原因", "Choose a reason.")
        files = await check_uploads(ctx.settings, uploads(form, "evidence"), "evidence")
        await facility_service.submit_change_request(
            ctx, resident.principal, resident.member_id, institution_id, station_id, reason, reason_text, files
        )
    except DomainError as err:
        if wants_json(request) or institution_id is None:
            raise
        return await _change_page(
            ctx,
            resident,
            institution_id,
            station_id,
            status=err.status,
            problem=problem(err, labels.field_message),
            form={"reason": reason, "reason_text": reason_text},
        )
    flash(request, "变更申请已提交，请等待审核")
    if wants_json(request):
        return Response({"location": f"{ROOT}/clinics"}, status_code=201, headers=PAGE_HEADERS)
    return redirect(f"{ROOT}/clinics")


@post("/clinics/requests/{request_id:int}/withdraw", status_code=200)
async def withdraw(request: Request[Any, Any, Any], ctx: AppContext, resident: Resident, request_id: int) -> Any:
    await facility_service.withdraw(ctx, resident.principal, resident.member_id, request_id)
    flash(request, "变更申请已撤回")
    return redirect(f"{ROOT}/clinics")
