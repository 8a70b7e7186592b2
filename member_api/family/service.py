"""P1 family authorisation: request, confirm (own session or counter), revoke, and the scopes a relative holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from member_api.audit.service import record
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, invalid_field, not_found
from member_api.core.principal import MemberCaller, Principal
from member_api.db import write_transaction
from member_api.family import queries
from member_api.family.schemas import ActView, FamilyView, GrantView, PersonRef
from member_api.members.identity import id_problem, mask_name, normalise_id
from member_api.policy import parameters
from member_api.policy.family import SCOPES, is_adult, may_add_relative


def _person(member_id: int, name: str, id_masked: str) -> PersonRef:
    return PersonRef(member_id=member_id, name_masked=mask_name(name), id_number_masked=id_masked)


def _view(row: dict[str, Any]) -> GrantView:
    return GrantView(
        id=row["id"],
        member=_person(row["member"], row["member_name"], row["member_id_masked"]),
        relative=_person(row["relative"], row["relative_name"], row["relative_id_masked"]),
        scopes=[s for s in SCOPES if s in row["scopes"].split(",")],  # type: ignore[misc]
        status=row["status"],
        requested_at=row["requested_at"],
        confirmed_at=row["confirmed_at"],
        confirmed_by=row["confirmed_by"],
        ended_at=row["ended_at"],
        ended_by=row["ended_by"],
    )


async def guardian_and_relatives(member_id: int, scope: str) -> tuple[dict[str, Any] | None, list[int]]:
    """Who may act for ``member_id`` in ``scope``: the guardian's facts (None when the member has none) and the
    ids of the relatives holding an active grant of that scope (P1). Notices go to them too."""
    return await queries.guardian_and_relatives(member_id, scope)


async def family(member_id: int) -> FamilyView:
    rows = await queries.grants_of(member_id)
    return FamilyView(
        acting_for_me=[_view(r) for r in rows if r["member"] == member_id],
        i_act_for=[_view(r) for r in rows if r["relative"] == member_id],
    )


async def _one_view(member_id: int, grant_id: int) -> GrantView:
    both = await family(member_id)
    return next(v for v in both.acting_for_me + both.i_act_for if v.id == grant_id)


def _id_hash(ctx: AppContext, id_number: str) -> str:
    problem = id_problem(id_number)
    if problem:
        raise invalid_field("id_number", "身份证号码有误，请核对", problem, code="invalid_id_number")
    return ctx.keyring.keyed_hash("id", normalise_id(id_number))


async def request(ctx: AppContext, caller: MemberCaller, id_number: str, scopes: list[str]) -> GrantView:
    """The relative (the caller) asks to act for an adult member; nothing is allowed until that member confirms."""
    now = ctx.clock.now()
    params = parameters.for_date(local_today(ctx.clock))
    target = await queries.member_by_id_hash(_id_hash(ctx, id_number))
    if target is None:
        raise DomainError("member_not_found", "未找到该参保人", "No member with this ID number.")
    if target["id"] == caller.member_id:
        raise invalid_field("id_number", "不能为自己授权", "You cannot act for yourself.", code="family_self")
    if not is_adult(params, target["birth_date"], local_today(ctx.clock)):
        raise DomainError(
            "family_member_is_minor",
            "未成年人由监护人代办，无需亲情授权",
            "A minor is represented by the registered guardian, not by family authorisation.",
        )
    async with write_transaction():
        await queries.lock_member(target["id"])
        if await queries.open_grant_between(target["id"], caller.member_id):
            raise DomainError(
                "family_grant_exists", "已有待确认或有效的授权", "A pending or active authorisation exists."
            )
        grant_id = await queries.insert_grant(target["id"], caller.member_id, ",".join(sorted(set(scopes))), now)
        await record(now, caller.principal.actor, "family_grant_requested", "member", target["id"], {"grant": grant_id})
    return await _one_view(caller.member_id, grant_id)


async def _pending_of(member_id: int, grant_id: int) -> dict[str, Any]:
    row = await queries.grant(grant_id)
    if row is None or row["member"] != member_id:
        raise not_found("授权", "authorisation")
    if row["status"] != queries.PENDING:
        raise DomainError("family_grant_not_pending", "该授权不在待确认状态", "The authorisation is not pending.")
    return row


async def _activate(ctx: AppContext, member_id: int, grant_id: int, actor: str, now: datetime) -> None:
    """Check the pending grant and the relatives limit under the member's lock, then activate."""
    params = parameters.for_date(local_today(ctx.clock))
    async with write_transaction():
        await queries.lock_member(member_id)
        await _pending_of(member_id, grant_id)
        if not may_add_relative(params, await queries.active_relatives(member_id)):
            raise DomainError(
                "family_limit_reached",
                f"最多可授权 {params.family_max_relatives} 位亲属",
                f"At most {params.family_max_relatives} relatives may act for one member.",
            )
        await queries.update_status(grant_id, {"status": queries.ACTIVE, "confirmed_at": now, "confirmed_by": actor})
        await record(now, actor, "family_grant_confirmed", "member", member_id, {"grant": grant_id})


async def confirm(ctx: AppContext, caller: MemberCaller, grant_id: int) -> GrantView:
    """The authorising member confirms in their own session."""
    await _activate(ctx, caller.member_id, grant_id, caller.principal.actor, ctx.clock.now())
    return await _one_view(caller.member_id, grant_id)


async def confirm_at_counter(ctx: AppContext, clerk: Principal, grant_id: int, id_number: str) -> GrantView:
    """A clerk who checked the authorising member's ID card confirms for someone without a phone."""
    row = await queries.grant(grant_id)
    member = await queries.member_facts(row["member"]) if row else None
    if row is None or member is None or member["id_hash"] != _id_hash(ctx, id_number):
        raise not_found("授权", "authorisation")
    await _activate(ctx, row["member"], grant_id, clerk.actor, ctx.clock.now())
    return await _one_view(row["member"], grant_id)


async def revoke(ctx: AppContext, caller: MemberCaller, grant_id: int) -> GrantView:
    """Either side ends a pending or active authorisation at once."""
    now = ctx.clock.now()
    async with write_transaction():
        row = await queries.grant(grant_id)
        if row is None or caller.member_id not in (row["member"], row["relative"]):
            raise not_found("授权", "authorisation")
        if row["status"] not in queries.OPEN:
            raise DomainError("family_grant_ended", "该授权已结束", "The authorisation has already ended.")
        await queries.update_status(
            grant_id, {"status": queries.REVOKED, "ended_at": now, "ended_by": caller.principal.actor}
        )
        await record(now, caller.principal.actor, "family_grant_revoked", "member", row["member"], {"grant": grant_id})
    return await _one_view(caller.member_id, grant_id)


async def acts(member_id: int, limit: int = 100) -> list[ActView]:
    views = []
    for row in await queries.acts_for(member_id, limit):
        data = msgspec.json.decode(row["data"]) if isinstance(row["data"], str | bytes) else row["data"]
        views.append(
            ActView(
                at=row["at"],
                actor=row["actor"],
                relative_member_id=data.get("actor_member"),
                via=data.get("via", ""),
                scope=data.get("scope", ""),
                method=data.get("method", ""),
                path=data.get("path", ""),
            )
        )
    return views
