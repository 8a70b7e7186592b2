"""Who is using /app: the API's own token pair from the session cookie, checked by the API's own code.

Access tokens are verified by ``auth.guards.provide_principal`` (the bearer check every API call runs), the bound
member by ``members.callers.provide_member_caller`` and the member a guardian acts for by
``members.callers.provide_subject_member``: a page sees exactly what the same resident would get from the API.

Rotation: the API's refresh tokens are single-use and their reuse revokes the login. Only page loads and form posts
(never the page's background calls, which may overlap) rotate them, a few minutes before the access token expires;
a background call that finds the access token expired answers ``login_required`` and the script reloads the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request

from member_api.auth import service as auth_service
from member_api.auth.guards import provide_principal
from member_api.auth.schemas import TokenPair
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError
from member_api.core.principal import MemberCaller, Principal
from member_api.family import service as family_service
from member_api.family.callers import subject_member
from member_api.members.callers import provide_member_caller
from member_api.members.identity import mask_name
from member_api.members.schemas import MemberView, MeView
from member_api.members.service import me, members_by_id, wards_of
from member_api.notices import service as notices_service
from member_api.policy import parameters
from member_api.policy.family import SCOPES, guardianship_applies
from member_api.web.common.errors import RedirectTo, wants_json
from member_api.web.common.pages import flash
from member_api.web.common.session import WebSession, session_of

ROOT = "/app"
ROTATE_BEFORE_S = 300


class _Bearer:
    """All that ``provide_principal`` reads of a request: the Authorization header."""

    def __init__(self, token: str) -> None:
        self.headers = {"authorization": f"Bearer {token}"}


def sign_in(ctx: AppContext, session: WebSession, pair: TokenPair) -> None:
    now = int(ctx.clock.now().timestamp())
    session.update(a=pair.access_token, r=pair.refresh_token, x=now + pair.expires_in)


def login_location(request: Request[Any, Any, Any], reason: str = "") -> str:
    """The login page, told why (``reason=expired``: it says so) and where to return."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = [f"reason={reason}"] if reason else []
    if not (request.method != "GET" or wants_json(request) or target.rstrip("/") == ROOT):
        query.append(f"next={quote(target)}")
    return f"{ROOT}/login" + (f"?{'&'.join(query)}" if query else "")


def _login_required(request: Request[Any, Any, Any], message: str = "请先登录") -> RedirectTo:
    reason = "expired" if message != "请先登录" else ""
    return RedirectTo(login_location(request, reason), "login_required", message)


async def _rotate(ctx: AppContext, session: WebSession) -> bool:
    try:
        sign_in(ctx, session, await auth_service.refresh(ctx, session.get("r", "")))
    except DomainError:
        session.clear()
        return False
    return True


async def account_principal(request: Request[Any, Any, Any], ctx: AppContext) -> Principal:
    """The logged-in resident's principal (bound or not), or a redirect to the login page."""
    session = session_of(request)
    if not session.get("a"):
        raise _login_required(request)
    may_rotate = not wants_json(request)
    if may_rotate and session.get("r") and session.get("x", 0) - ctx.clock.now().timestamp() < ROTATE_BEFORE_S:
        if not await _rotate(ctx, session):
            raise _login_required(request, "登录已失效，请重新登录")
    try:
        principal = await provide_principal(_Bearer(session.get("a")), ctx)  # type: ignore[arg-type]
    except DomainError as exc:
        expired = exc.code == "token_expired"
        if not (may_rotate and expired and await _rotate(ctx, session)):
            if not expired:  # forged, revoked key, unknown: forget it; an expired one waits for the next page load
                session.clear()
            raise _login_required(request, "登录已失效，请重新登录") from exc
        principal = await provide_principal(_Bearer(session.get("a")), ctx)  # type: ignore[arg-type]
    if principal.role != "member":
        session.clear()
        raise _login_required(request)
    return principal


# The scope a page needs (P1), as the API's ``family.callers.scope_for`` decides it for /v1/me: showing the
# e-credential needs "credential"; changing claims or the designation needs that scope; reading needs "view".
PAGE_SCOPES: tuple[tuple[str, str, str], ...] = (
    ("GET", f"{ROOT}/credential", "credential"),
    ("POST", f"{ROOT}/claims", "claims"),
    ("POST", f"{ROOT}/clinics", "designation"),
    ("POST", f"{ROOT}/history", "claims"),  # disputes, as the API's /v1/me/disputes
)


def page_scope(method: str, path: str) -> str:
    for rule_method, prefix, scope in PAGE_SCOPES:
        if method == rule_method and path.startswith(prefix):
            return scope
    return "view"


@dataclass(frozen=True)
class Person:
    id: int
    name_masked: str
    relation: str  # "self", "dependant" (a minor in the resident's guardianship) or "relative" (authorised, P1)
    view: MemberView
    scopes: tuple[str, ...] = SCOPES


@dataclass(frozen=True)
class Resident:
    """The bound resident, the member the pages are about now, and everyone the resident may switch to."""

    principal: Principal
    caller: MemberCaller
    member_id: int
    account: MeView
    people: list[Person]
    unread: int = 0
    """The resident's unread notices (the badge on 消息)."""

    @property
    def acting(self) -> Person:
        return next(p for p in self.people if p.id == self.member_id)

    @property
    def acting_for_other(self) -> bool:
        return self.member_id != self.caller.member_id

    @property
    def me(self) -> Person:
        return next(p for p in self.people if p.id == self.caller.member_id)


async def _people(ctx: AppContext, caller: MemberCaller, account: MeView) -> list[Person]:
    """The resident, the minors in their guardianship, and the adults who authorised them (any scope, P1)."""
    today = local_today(ctx.clock)
    params = parameters.for_date(today)
    people = [Person(id=m.id, name_masked=mask_name(m.name), relation="self", view=m) for m in [account.member] if m]
    for m in await wards_of(caller.member_id):
        if guardianship_applies(params, m.birth_date, today):
            people.append(Person(id=m.id, name_masked=mask_name(m.name), relation="dependant", view=m))
    grants = {g.member.member_id: g for g in (await family_service.family(caller.member_id)).i_act_for}
    active = {mid: g for mid, g in grants.items() if g.status == "active" and mid not in {p.id for p in people}}
    if active:
        for m in await members_by_id(list(active)):
            people.append(
                Person(
                    id=m.id,
                    name_masked=mask_name(m.name),
                    relation="relative",
                    view=m,
                    scopes=tuple(active[m.id].scopes),
                )
            )
    return people


async def household(request: Request[Any, Any, Any], ctx: AppContext) -> Resident:
    """The bound resident and everyone they may switch to; ``member_id`` is the one chosen (not yet checked for
    a page: ``bound_resident`` does that)."""
    principal = await account_principal(request, ctx)
    try:
        caller = await provide_member_caller(principal, ctx)
    except DomainError as exc:
        if exc.code == "binding_required":
            raise RedirectTo(f"{ROOT}/bind", "binding_required", exc.message_zh) from exc
        raise
    account = await me(principal)
    people = await _people(ctx, caller, account)
    session = session_of(request)
    wanted = session.get("m")
    if wanted is not None and wanted not in {p.id for p in people}:
        session.update(m=None)
        wanted = None
    return Resident(
        principal=principal,
        caller=caller,
        member_id=wanted or caller.member_id,
        account=account,
        people=people,
        unread=await notices_service.unread(caller.member_id),
    )


async def bound_resident(request: Request[Any, Any, Any], ctx: AppContext) -> Resident:
    """The household, with the chosen member checked for this page's scope by the API's own rule (P1), which also
    records the act in the audit trail. A scope the resident was not given leads to the family page, in words."""
    resident = await household(request, ctx)
    if not resident.acting_for_other:
        return resident
    method, path = request.method, request.url.path
    try:
        await subject_member(
            ctx, resident.caller, resident.member_id, page_scope(method, path), method=method, path=path
        )
    except DomainError as exc:
        if exc.code != "family_scope_missing":
            raise
        flash(request, exc.message_zh, "error")
        raise RedirectTo(f"{ROOT}/family", exc.code, exc.message_zh) from exc
    return resident


async def screen_member(request: Request[Any, Any, Any], ctx: AppContext) -> int:
    """The member whose e-credential screen a background stream serves: what ``bound_resident`` decides, without
    the household and the unread badge a page shows (a QR screen reopens its stream every half minute, so this
    reads only the per-worker caches unless a relative acts for the member, which is checked as on any page)."""
    principal = await account_principal(request, ctx)
    try:
        caller = await provide_member_caller(principal, ctx)
    except DomainError as exc:
        if exc.code == "binding_required":
            raise RedirectTo(f"{ROOT}/bind", "binding_required", exc.message_zh) from exc
        raise
    wanted = session_of(request).get("m")
    if wanted is None or wanted == caller.member_id:
        return caller.member_id
    method, path = request.method, request.url.path
    try:
        await subject_member(ctx, caller, wanted, page_scope(method, path), method=method, path=path)
    except DomainError as exc:
        if exc.code != "family_scope_missing":
            raise
        raise RedirectTo(f"{ROOT}/family", exc.code, exc.message_zh) from exc
    return int(wanted)
