"""Login with phone and SMS code, binding the insurance record, logout."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post

from member_api.auth import service as auth_service
from member_api.core.context import AppContext, client_address
from member_api.core.errors import DomainError
from member_api.core.principal import Principal
from member_api.members import service as members_service
from member_api.members.identity import mask_phone
from member_api.web.app.resident import ROOT, account_principal, sign_in
from member_api.web.common.errors import RedirectTo, wants_json
from member_api.web.common.forms import form_of, problem, text
from member_api.web.common.pages import flash, local_path, local_time, page, redirect
from member_api.web.common.session import session_of

# Where a counter-binding code may be in the refusal's ``extra`` (the possession check at the counter).
_BINDING_CODE_KEYS = ("counter_code", "binding_code", "verification_code", "code")


def resend_after_s(ctx: AppContext) -> int:
    """The wait the server's own send limit imposes between two codes to one phone."""
    return math.ceil(60 / max(1, ctx.settings.otp_per_phone_per_minute))


def _login_page(ctx: AppContext, status: int = 200, **context: Any) -> Any:
    context.setdefault("phone", "")
    context.setdefault("next", "")
    return page(
        "app/login.html",
        status=status,
        resend_after_s=resend_after_s(ctx),
        code_ttl_min=max(1, ctx.settings.otp_ttl_s // 60),
        **context,
    )


@get("/login", name="app-login")
async def login_page(
    request: Request[Any, Any, Any], ctx: AppContext, next: str | None = None, reason: str | None = None
) -> Any:
    if session_of(request).get("a"):
        try:
            await account_principal(request, ctx)
            return redirect(local_path(next, f"{ROOT}/", ROOT))
        except RedirectTo:
            pass
    notices = [{"kind": "warn", "text": "登录已过期，为保护您的信息请重新登录"}] if reason == "expired" else []
    return _login_page(ctx, next=local_path(next, "", ROOT), notices=notices)


@post("/login/code", status_code=200)
async def send_code(request: Request[Any, Any, Any], ctx: AppContext) -> Any:
    """Send the SMS code: JSON for the page's script (countdown), or the login page again without JavaScript."""
    form = await form_of(request)
    phone, next_ = text(form, "phone", 20), text(form, "next", 300)
    try:
        ttl = await auth_service.send_otp(ctx, phone, client_address(request))
    except DomainError as err:
        if wants_json(request):
            raise
        wait = problem(err)["retry_after_s"]
        return _login_page(ctx, status=err.status, phone=phone, next=next_, problem=problem(err), countdown=wait)
    wait = resend_after_s(ctx)
    session_of(request).update(sent={"p": phone, "at": int(ctx.clock.now().timestamp())})
    sent = f"验证码已发送至 {mask_phone(phone)}，{max(1, ttl // 60)} 分钟内有效"
    if wants_json(request):
        return Response({"ok": True, "resend_after_s": wait, "expires_in_s": ttl, "message_zh": sent})
    return _login_page(ctx, phone=phone, next=next_, notices=[{"kind": "ok", "text": sent}], countdown=wait)


@post("/login", status_code=200)
async def login(request: Request[Any, Any, Any], ctx: AppContext) -> Any:
    form = await form_of(request)
    phone, code, next_ = text(form, "phone", 20), text(form, "code", 10), text(form, "next", 300)
    try:
        pair = await auth_service.login_with_otp(ctx, phone, code)
    except DomainError as err:
        sent = session_of(request).get("sent") or {}  # the resend countdown goes on where it was
        left = (
            int(sent.get("at", 0) + resend_after_s(ctx) - ctx.clock.now().timestamp()) if sent.get("p") == phone else 0
        )
        return _login_page(
            ctx, status=err.status, phone=phone, next=next_, problem=problem(err), countdown=max(0, left)
        )
    session = session_of(request)
    session.clear()
    sign_in(ctx, session, pair)
    return redirect(local_path(next_, f"{ROOT}/", ROOT))


@post("/logout", status_code=200)
async def logout(request: Request[Any, Any, Any], ctx: AppContext) -> Any:
    session = session_of(request)
    try:
        principal = await account_principal(request, ctx)
        await auth_service.logout(ctx, session.get("r", ""), principal)
    except (RedirectTo, DomainError):
        pass
    session.clear()
    flash(request, "已安全退出")
    return redirect(f"{ROOT}/login")


def binding_code(err: DomainError) -> str | None:
    extra = err.extra or {}
    for key in _BINDING_CODE_KEYS:
        if isinstance(extra.get(key), str | int):
            return str(extra[key])
    return None


@get("/bind")
async def bind_page(account: Principal) -> Any:
    view = await members_service.me(account)
    if view.bound:
        return redirect(f"{ROOT}/")
    return page("app/bind.html", account=view, id_number="", name="")


@post("/bind", status_code=200)
async def bind(request: Request[Any, Any, Any], ctx: AppContext, account: Principal) -> Any:
    form = await form_of(request)
    id_number, name = text(form, "id_number", 32), text(form, "name", 100)
    try:
        await members_service.bind(ctx, account, id_number, name)
    except DomainError as err:
        view = await members_service.me(account)
        return page(
            "app/bind.html",
            status=err.status,
            account=view,
            id_number=id_number,
            name=name,
            problem=problem(err),
            binding_code=binding_code(err),
            binding_expires=_expiry((err.extra or {}).get("binding_code_expires_at")),
        )
    flash(request, "绑定成功")
    return redirect(f"{ROOT}/")


def _expiry(value: str | datetime | None) -> str:
    """The code's end in local time, as the resident reads it ("16:42")."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return ""
    return local_time(value, "%H:%M") if value else ""


@post("/bind/code", status_code=200)
async def new_binding_code(ctx: AppContext, account: Principal) -> Any:
    """A fresh counter code (the previous one stops working), for a resident whose code ran out."""
    view = await members_service.me(account)
    if view.bound:
        return redirect(f"{ROOT}/")
    try:
        code = await members_service.binding_code(ctx, account)
    except DomainError as err:
        return page("app/bind.html", status=err.status, account=view, id_number="", name="", problem=problem(err))
    return page(
        "app/bind.html",
        account=view,
        id_number="",
        name="",
        problem={"code": "binding_needs_verification", "message_zh": "请到柜台核验本人后绑定", "fields": {}},
        binding_code=code.binding_code,
        binding_expires=_expiry(code.expires_at),
    )
