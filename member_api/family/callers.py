"""The member a ``/v1/me`` call is about: the caller, a minor in their guardianship, or an adult who authorised
them for the scope the route needs (P1). Every call made for someone else is audited with actor and member."""

from __future__ import annotations

from litestar import Request

from member_api.audit.service import record
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, not_found
from member_api.core.principal import MemberCaller
from member_api.core.types import QueryId
from member_api.db import write_transaction
from member_api.family import queries
from member_api.policy import parameters
from member_api.policy.family import guardianship_applies

# The scope a route needs, by method and path prefix under /v1/me (first match wins; reads need "view").
SCOPE_RULES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/v1/me/credential", "credential"),
    ("*", "/v1/me/claims", "claims"),
    ("*", "/v1/me/disputes", "claims"),
    ("*", "/v1/me/designation", "designation"),
)


def scope_for(method: str, path: str) -> str:
    for rule_method, prefix, scope in SCOPE_RULES:
        if path.startswith(prefix) and ((rule_method == "*" and method != "GET") or rule_method == method):
            return scope
    return "view" if method == "GET" else "manage"


async def provide_subject_member(
    caller: MemberCaller, request: Request, ctx: AppContext, member_id: QueryId = None
) -> int:
    """The ``subject_member_id`` dependency of the ``/v1/me`` routes: the scope comes from the route."""
    scope = scope_for(request.method, request.url.path)
    return await subject_member(ctx, caller, member_id, scope, method=request.method, path=request.url.path)


async def subject_member(
    ctx: AppContext, caller: MemberCaller, member_id: int | None, scope: str, *, method: str = "GET", path: str = ""
) -> int:
    """The caller, a minor in their guardianship, or a member who granted them ``scope``; else 404 (or 403)."""
    if member_id is None or member_id == caller.member_id:
        return caller.member_id
    subject = await queries.member_facts(member_id)
    if subject is None:
        raise not_found("参保人", "member")
    today = local_today(ctx.clock)
    if subject["guardian"] == caller.member_id and guardianship_applies(
        parameters.for_date(today), subject["birth_date"], today
    ):
        via = "guardian"
    elif scope in await queries.active_scopes(member_id, caller.member_id):
        via = "family_grant"
    elif await queries.active_scopes(member_id, caller.member_id):
        raise DomainError(
            "family_scope_missing",
            "该亲属授权不包含此项操作",
            f"Your authorisation for this member does not include '{scope}'.",
        )
    else:
        raise not_found("参保人", "member")
    async with write_transaction():
        await record(
            ctx.clock.now(),
            caller.principal.actor,
            "acted_for",
            "member",
            member_id,
            {
                "actor_member": caller.member_id,
                "via": via,
                "scope": scope,
                "method": method,
                "path": path,
            },
        )
    return member_id
