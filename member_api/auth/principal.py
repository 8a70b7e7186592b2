"""Who is calling: the bearer token turned into a Principal, and the guards of each role."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Request

from member_api.auth.tables import Account
from member_api.auth.tokens import TokenError, verify
from member_api.context import AppContext
from member_api.db import fetch_one
from member_api.errors import ApiError, not_found
from member_api.members.tables import Member
from member_api.types import QueryId

Role = Literal["member", "clerk", "reviewer"]


class Principal(msgspec.Struct, kw_only=True, frozen=True):
    role: Role
    account_id: int | None = None
    staff_id: int | None = None
    facility_id: int | None = None

    @property
    def actor(self) -> str:
        return f"account:{self.account_id}" if self.role == "member" else f"staff:{self.staff_id}"


class MemberCaller(msgspec.Struct, kw_only=True, frozen=True):
    """A resident whose account is bound to a registry record."""

    principal: Principal
    member_id: int


def unauthorized(code: str = "unauthorized") -> ApiError:
    return ApiError(
        code,
        401,
        "登录已失效，请重新登录",
        "Authentication is missing or invalid.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden() -> ApiError:
    return ApiError("forbidden", 403, "无权进行此操作", "Your role may not do this.")


async def provide_principal(request: Request, ctx: AppContext) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthorized()
    try:
        claims = verify(
            ctx.keyring,
            token.strip(),
            audience=ctx.settings.audience,
            issuer=ctx.settings.issuer,
            now=ctx.clock.now(),
            required=("exp", "iat", "sub", "role"),
            cache=ctx.caches.verified_tokens,
        )
    except TokenError as exc:
        raise unauthorized(exc.code) from exc
    sub, role = str(claims["sub"]), claims["role"]
    if role == "member" and sub.startswith("a") and sub[1:].isdigit():
        return Principal(role="member", account_id=int(sub[1:]))
    if role in ("clerk", "reviewer") and sub.startswith("s") and sub[1:].isdigit():
        staff = await fetch_one("SELECT active, facility FROM staff WHERE id = {}", int(sub[1:]))
        if not staff or not staff["active"]:
            raise unauthorized()
        return Principal(role=role, staff_id=int(sub[1:]), facility_id=staff["facility"])
    raise unauthorized("token_invalid")


async def provide_account(principal: Principal) -> Principal:
    if principal.role != "member":
        raise forbidden()
    return principal


async def provide_member_caller(principal: Principal, ctx: AppContext) -> MemberCaller:
    if principal.role != "member" or principal.account_id is None:
        raise forbidden()
    member_id = ctx.caches.account_member.get(principal.account_id)
    if member_id is None:
        row = await Account.select(Account.member).where(Account.id == principal.account_id).first()
        if not row or row["member"] is None:
            raise ApiError("binding_required", 403, "请先绑定参保信息", "Bind your insurance record first.")
        member_id = ctx.caches.account_member[principal.account_id] = row["member"]  # a binding is permanent
    return MemberCaller(principal=principal, member_id=member_id)


async def provide_subject_member(caller: MemberCaller, member_id: QueryId = None) -> int:
    """The member a ``/v1/me`` call is about: the caller, or a dependant named by ``?member_id=``."""
    if member_id is None or member_id == caller.member_id:
        return caller.member_id
    guardian = await Member.select(Member.guardian).where(Member.id == member_id).first()
    if not guardian or guardian["guardian"] != caller.member_id:
        raise not_found("参保人", "member")
    return member_id


async def provide_clerk(principal: Principal) -> Principal:
    if principal.role != "clerk" or principal.facility_id is None:
        raise forbidden()
    return principal


async def provide_reviewer(principal: Principal) -> Principal:
    if principal.role != "reviewer":
        raise forbidden()
    return principal


async def provide_staff(principal: Principal) -> Principal:
    if principal.role not in ("clerk", "reviewer"):
        raise forbidden()
    return principal
