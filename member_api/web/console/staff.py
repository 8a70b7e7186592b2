"""Who is using /console: the API's own staff token pair from the session cookie, checked by the API's own code.

The access token is verified by ``auth.guards.provide_principal`` and each page's role by the very guard its API
route uses (``core.principal.provide_clerk``, ``provide_reviewer``, ``provide_staff``, ``provide_officer``): a
page answers exactly what the same staff member would get from the API.

Shared counter PCs: a session idle for ``MEMBER_API_CONSOLE_IDLE_TIMEOUT_S`` (15 minutes by default) is ended on the
next request (server side) and the page's script goes to the login page when the time is up (client side).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request

from member_api.auth import service as auth_service
from member_api.auth.guards import provide_principal
from member_api.auth.schemas import TokenPair
from member_api.core import principal as guards
from member_api.core.context import AppContext
from member_api.core.errors import DomainError
from member_api.core.principal import Principal
from member_api.web.common.errors import RedirectTo, wants_json
from member_api.web.common.session import WebSession, session_of

ROOT = "/console"
ROTATE_BEFORE_S = 300
ROLE_NAMES = {"clerk": "柜员", "reviewer": "审核员", "officer": "经办机构"}


class _Bearer:
    """All that ``provide_principal`` reads of a request: the Authorization header."""

    def __init__(self, token: str) -> None:
        self.headers = {"authorization": f"Bearer {token}"}


def sign_in(ctx: AppContext, session: WebSession, pair: TokenPair, username: str) -> None:
    now = int(ctx.clock.now().timestamp())
    session.update(a=pair.access_token, r=pair.refresh_token, x=now + pair.expires_in, t=now, u=username)


def login_location(request: Request[Any, Any, Any], reason: str = "") -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = [f"reason={reason}"] if reason else []
    if request.method == "GET" and not wants_json(request) and target.rstrip("/") != ROOT:
        query.append(f"next={quote(target)}")
    return f"{ROOT}/login" + (f"?{'&'.join(query)}" if query else "")


def _login_required(request: Request[Any, Any, Any], message: str = "请先登录", reason: str = "") -> RedirectTo:
    return RedirectTo(login_location(request, reason), "login_required", message)


async def _rotate(ctx: AppContext, session: WebSession) -> bool:
    try:
        pair = await auth_service.refresh(ctx, session.get("r", ""))
    except DomainError:
        session.clear()
        return False
    now = int(ctx.clock.now().timestamp())
    session.update(a=pair.access_token, r=pair.refresh_token, x=now + pair.expires_in)
    return True


async def staff_principal(request: Request[Any, Any, Any], ctx: AppContext) -> Principal:
    """The logged-in staff member's principal, or a redirect to the login page (idle, expired, revoked)."""
    session = session_of(request)
    if not session.get("a"):
        raise _login_required(request)
    now = ctx.clock.now().timestamp()
    if now - session.get("t", 0) > ctx.settings.console_idle_timeout_s:
        session.clear()
        raise _login_required(request, "长时间未操作，已自动退出，请重新登录", "idle")
    session.update(t=int(now))
    if session.get("r") and session.get("x", 0) - now < ROTATE_BEFORE_S and not await _rotate(ctx, session):
        raise _login_required(request, "登录已失效，请重新登录", "expired")
    try:
        principal = await provide_principal(_Bearer(session.get("a")), ctx)  # type: ignore[arg-type]
    except DomainError as exc:
        if not (exc.code == "token_expired" and await _rotate(ctx, session)):
            session.clear()
            raise _login_required(request, "登录已失效，请重新登录", "expired") from exc
        principal = await provide_principal(_Bearer(session.get("a")), ctx)  # type: ignore[arg-type]
    if principal.role not in guards.STAFF_ROLES:
        session.clear()
        raise _login_required(request)
    return principal


# The API's own guards, one per page family: a refusal is the API's 403 ``forbidden``, shown as a page.
async def clerk_of(request: Request[Any, Any, Any], ctx: AppContext) -> Principal:
    return await guards.provide_clerk(await staff_principal(request, ctx))


async def reviewer_of(request: Request[Any, Any, Any], ctx: AppContext) -> Principal:
    return await guards.provide_reviewer(await staff_principal(request, ctx))


async def staff_of(request: Request[Any, Any, Any], ctx: AppContext) -> Principal:
    return await guards.provide_staff(await staff_principal(request, ctx))


async def officer_of(request: Request[Any, Any, Any], ctx: AppContext) -> Principal:
    return await guards.provide_officer(await staff_principal(request, ctx))
