"""Staff login (username and password, the API's ``auth.service.staff_login``), logout and the start page."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post

from member_api.auth import service as auth_service
from member_api.core.context import AppContext, client_address
from member_api.core.errors import DomainError
from member_api.web.common.errors import RedirectTo
from member_api.web.common.forms import form_of, problem, text
from member_api.web.common.pages import flash, local_path, page, redirect
from member_api.web.common.session import session_of
from member_api.web.console.desk import HOME
from member_api.web.console.staff import ROOT, sign_in, staff_principal

REASONS = {"idle": "长时间未操作，已自动退出，请重新登录", "expired": "登录已失效，请重新登录"}


def _login_page(status: int = 200, **context: Any) -> Any:
    context.setdefault("username", "")
    context.setdefault("next", "")
    return page("console/login.html", status=status, **context)


@get("/login", name="console-login")
async def login_page(
    request: Request[Any, Any, Any], ctx: AppContext, next: str | None = None, reason: str | None = None
) -> Any:
    if session_of(request).get("a"):
        try:
            principal = await staff_principal(request, ctx)
            return redirect(local_path(next, HOME.get(principal.role, f"{ROOT}/"), ROOT))
        except RedirectTo:
            pass
    notices = [{"kind": "warn", "text": REASONS[reason]}] if reason in REASONS else []
    return _login_page(next=local_path(next, "", ROOT), notices=notices)


@post("/login", status_code=200)
async def login(request: Request[Any, Any, Any], ctx: AppContext) -> Any:
    form = await form_of(request)
    username, password, next_ = text(form, "username", 64), text(form, "password", 200), text(form, "next", 300)
    try:
        pair = await auth_service.staff_login(ctx, username, password, client_address(request))
    except DomainError as err:
        return _login_page(status=err.status, username=username, next=next_, problem=problem(err))
    session = session_of(request)
    session.clear()
    sign_in(ctx, session, pair, username)
    principal = await staff_principal(request, ctx)
    return redirect(local_path(next_, HOME.get(principal.role, f"{ROOT}/"), ROOT))


@post("/logout", status_code=200)
async def logout(request: Request[Any, Any, Any], ctx: AppContext) -> Any:
    session = session_of(request)
    try:
        principal = await staff_principal(request, ctx)
        await auth_service.logout(ctx, session.get("r", ""), principal)
    except (RedirectTo, DomainError):
        pass
    session.clear()
    flash(request, "已安全退出")
    return redirect(f"{ROOT}/login")


@get("/")
async def home(request: Request[Any, Any, Any], ctx: AppContext) -> Any:
    principal = await staff_principal(request, ctx)
    return redirect(HOME.get(principal.role, f"{ROOT}/login"))


@get("/ping", status_code=204)
async def ping(request: Request[Any, Any, Any], ctx: AppContext) -> None:
    """Activity on a page that makes no request (typing, reading receipts) keeps the session alive."""
    await staff_principal(request, ctx)
