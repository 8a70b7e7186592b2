"""Who is calling, as every area sees it: the principal, the bound member, and the role guards.

The bearer token is turned into a ``Principal`` by ``auth.guards.provide_principal`` and the bound member by
``members.callers``; the app wires them by name, so areas depend on these types, never on each other.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from member_api.core.errors import DomainError

Role = Literal["member", "clerk", "reviewer", "officer"]
STAFF_ROLES = ("clerk", "reviewer", "officer")


class Principal(msgspec.Struct, kw_only=True, frozen=True):
    role: Role
    account_id: int | None = None
    staff_id: int | None = None
    facility_id: int | None = None
    session: str | None = None

    @property
    def actor(self) -> str:
        return f"account:{self.account_id}" if self.role == "member" else f"staff:{self.staff_id}"


class MemberCaller(msgspec.Struct, kw_only=True, frozen=True):
    """A resident whose account is bound to a registry record."""

    principal: Principal
    member_id: int


def unauthorized(code: str = "unauthorized") -> DomainError:
    return DomainError(
        code,
        "登录已失效，请重新登录",
        "Authentication is missing or invalid.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden() -> DomainError:
    return DomainError("forbidden", "无权进行此操作", "Your role may not do this.")


async def provide_account(principal: Principal) -> Principal:
    if principal.role != "member":
        raise forbidden()
    return principal


async def provide_clerk(principal: Principal) -> Principal:
    if principal.role != "clerk" or principal.facility_id is None:
        raise forbidden()
    return principal


async def provide_reviewer(principal: Principal) -> Principal:
    if principal.role != "reviewer":
        raise forbidden()
    return principal


async def provide_officer(principal: Principal) -> Principal:
    """An agency officer (R12-R16): every facility's statements, reports and signals; never unmasked data."""
    if principal.role != "officer":
        raise forbidden()
    return principal


async def provide_staff(principal: Principal) -> Principal:
    if principal.role not in ("clerk", "reviewer"):
        raise forbidden()
    return principal
