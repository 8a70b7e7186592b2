"""亲属授权 in the app (P1): ask to act for an adult relative, confirm a relative's request on one's own phone, and
revoke either side, all through ``family.service`` (the same rules as /v1/me/family/grants)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from member_api.core.context import AppContext
from member_api.core.errors import DomainError
from member_api.family import service as family_service
from member_api.policy.family import SCOPES
from member_api.web.app.resident import ROOT, Resident
from member_api.web.common.forms import form_of, text
from member_api.web.common.pages import flash, redirect
from member_api.web.common.session import session_of


@post("/family/grants", status_code=200)
async def request_grant(request: Request[Any, Any, Any], ctx: AppContext, household: Resident) -> Any:
    form = await form_of(request)
    id_number = text(form, "id_number", 32).replace(" ", "").upper()
    scopes = [s for s in form.getall("scopes") if s in SCOPES]
    try:
        if not scopes:
            raise DomainError("validation_error", "请至少选择一项授权范围", "Choose at least one scope.")
        await family_service.request(ctx, household.caller, id_number, scopes)
    except DomainError as err:
        flash(request, err.message_zh, "error")
        session_of(request).update(grant_form={"id_number": id_number, "scopes": scopes})
        return redirect(f"{ROOT}/family#request")
    flash(request, "授权申请已发出，请对方登录后在“家庭成员”中确认，或携带身份证到柜台确认")
    return redirect(f"{ROOT}/family")


@post("/family/grants/{grant_id:int}/confirm", status_code=200)
async def confirm_grant(request: Request[Any, Any, Any], ctx: AppContext, household: Resident, grant_id: int) -> Any:
    try:
        done = await family_service.confirm(ctx, household.caller, grant_id)
    except DomainError as err:
        flash(request, err.message_zh, "error")
        return redirect(f"{ROOT}/family")
    flash(request, f"已同意 {done.relative.name_masked} 为您办理")
    return redirect(f"{ROOT}/family")


@post("/family/grants/{grant_id:int}/revoke", status_code=200)
async def revoke_grant(request: Request[Any, Any, Any], ctx: AppContext, household: Resident, grant_id: int) -> Any:
    try:
        await family_service.revoke(ctx, household.caller, grant_id)
    except DomainError as err:
        flash(request, err.message_zh, "error")
        return redirect(f"{ROOT}/family")
    flash(request, "授权已撤销")
    return redirect(f"{ROOT}/family")
