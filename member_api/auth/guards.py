"""The bearer token turned into a ``Principal`` (wired by the app as the ``principal`` dependency).

A token is accepted when its signature (by an access key still in the key ring), audience, issuer and
times check out and its session (``sid``) is still open: logout, refresh-token reuse and a staff password
change end a session, and every worker refuses its tokens at most ``caches.SESSION_CHECK_TTL_S`` later.

Credentials come before input: ``authenticate_first`` (the first step of the app's ``before_request``) checks the
token of every route that needs a principal before the query, headers or body are read, so a request without
valid credentials is 401 whatever else is wrong with it, and an anonymous upload is never parsed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from litestar import Request
from litestar.handlers import BaseRouteHandler

from member_api.auth.service import session_open
from member_api.core.context import AppContext
from member_api.core.principal import STAFF_ROLES, Principal, unauthorized
from member_api.core.tokens import TokenError, verify
from member_api.db import fetch_one

PRINCIPAL = "principal"
_STATE_KEY = "member_api.principal"


async def provide_principal(request: Request, ctx: AppContext) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthorized()
    try:
        claims = verify(
            ctx.keyring.access,
            token.strip(),
            audience=ctx.settings.audience,
            issuer=ctx.settings.issuer,
            now=ctx.clock.now(),
            required=("exp", "iat", "sub", "role", "sid"),
            cache=ctx.caches.verified_tokens,
        )
    except TokenError as exc:
        raise unauthorized(exc.code) from exc
    sub, role, sid = str(claims["sub"]), claims["role"], str(claims["sid"])
    if not await session_open(ctx, sid):
        raise unauthorized("session_ended")
    if role == "member" and sub.startswith("a") and sub[1:].isdigit():
        return Principal(role="member", account_id=int(sub[1:]), session=sid)
    if role in STAFF_ROLES and sub.startswith("s") and sub[1:].isdigit():
        staff_id = int(sub[1:])
        staff = ctx.caches.staff.get(staff_id)
        if staff is None:  # a deactivated account or a moved clerk is noticed as late as an ended session
            row = await fetch_one("SELECT active, facility FROM staff WHERE id = {}", staff_id)
            staff = ctx.caches.staff[staff_id] = (bool(row and row["active"]), row["facility"] if row else None)
        active, facility = staff
        if not active:
            raise unauthorized()
        return Principal(role=role, staff_id=staff_id, facility_id=facility, session=sid)
    raise unauthorized("token_invalid")


@lru_cache(maxsize=4096)  # per handler object (identity-hashed): the walk below is the same on every request
def needs_principal(handler: BaseRouteHandler) -> bool:
    """Whether the handler's dependencies, followed through the dependencies they take, reach ``principal``
    (a few dictionary lookups: litestar keeps the resolved providers and their parsed signatures)."""
    providers = handler.resolve_dependencies()
    pending, seen = list(handler.parsed_fn_signature.parameters), set()
    while pending:
        name = pending.pop()
        if name in providers and name not in seen:
            seen.add(name)
            pending += providers[name].parsed_fn_signature.parameters
    return PRINCIPAL in seen


async def authenticate_first(request: Request[Any, Any, Any]) -> None:
    """``before_request`` step: the bearer check of a route that needs a principal, kept for the dependency."""
    if needs_principal(request.route_handler):
        ctx: AppContext = request.app.state.ctx
        request.state[_STATE_KEY] = await provide_principal(request, ctx)


async def request_principal(request: Request[Any, Any, Any], ctx: AppContext) -> Principal:
    """The ``principal`` dependency: the one ``authenticate_first`` found, else checked now."""
    found = request.state.get(_STATE_KEY)
    return found if isinstance(found, Principal) else await provide_principal(request, ctx)
