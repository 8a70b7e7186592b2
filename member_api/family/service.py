"""P1 family authorisation: request, confirm (own session or counter), revoke, and the scopes a relative holds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from member_api.audit.service import record
from member_api.core import ratelimit
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, invalid_field, not_found
from member_api.core.principal import MemberCaller, Principal
from member_api.db import write_transaction
from member_api.family import queries
from member_api.family.schemas import ActView, FamilyView, GrantRequested, GrantView, PersonRef
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


DAY = timedelta(days=1)
REQUESTED_ZH = (
    "已提交。如该身份证号码属于已参保的成年人，对方可在其账户中确认（或到窗口确认）；确认后您将在“亲情账户”中看到。"
)


async def family(member_id: int) -> FamilyView:
    """Both sides of the member's authorisations. A request not yet confirmed shows only to the member asked: the
    requester learns of it once confirmed (a pending one would tell them the number is an insured person's)."""
    rows = await queries.grants_of(member_id)
    return FamilyView(
        acting_for_me=[_view(r) for r in rows if r["member"] == member_id],
        i_act_for=[_view(r) for r in rows if r["relative"] == member_id and r["confirmed_at"] is not None],
    )


async def _one_view(member_id: int, grant_id: int) -> GrantView:
    both = await family(member_id)
    return next(v for v in both.acting_for_me + both.i_act_for if v.id == grant_id)


def _id_hash(ctx: AppContext, id_number: str) -> str:
    problem = id_problem(id_number)
    if problem:
        raise invalid_field("id_number", "身份证号码有误，请核对", problem, code="invalid_id_number")
    return ctx.keyring.keyed_hash("id", normalise_id(id_number))


async def request(ctx: AppContext, caller: MemberCaller, id_number: str, scopes: list[str]) -> GrantRequested:
    """The relative (the caller) asks to act for an adult member; nothing is allowed until that member confirms.

    The answer is the same whether the number is an insured adult's, a minor's, unknown, or asked already: binding
    was built not to tell a stranger who is insured, and neither does this. Every attempt counts against a daily
    limit per account before it is evaluated (``family_requests_per_day``), so guessing is slow.
    """
    now = ctx.clock.now()
    id_hash = _id_hash(ctx, id_number)
    key = ctx.keyring.keyed_hash("family", str(caller.member_id))
    async with write_transaction():  # committed on its own: the attempt counts whatever follows
        await ratelimit.hit(
            "family_request", key, now, ctx.settings.family_requests_per_day, DAY, "family_requests_limited"
        )
    answer = GrantRequested(scopes=[s for s in SCOPES if s in scopes], message_zh=REQUESTED_ZH)  # type: ignore[misc]
    params = parameters.for_date(local_today(ctx.clock))
    target = await queries.member_by_id_hash(id_hash)
    if target is not None and target["id"] == caller.member_id:  # the caller's own number: nothing to hide
        raise invalid_field("id_number", "不能为自己授权", "You cannot act for yourself.", code="family_self")
    if target is None or not is_adult(params, target["birth_date"], local_today(ctx.clock)):
        return answer  # unknown, or a minor (represented by the registered guardian): nothing to ask
    async with write_transaction():
        await queries.lock_member(target["id"])
        if await queries.open_grant_between(target["id"], caller.member_id):
            return answer  # asked already: the member has it in their account
        grant_id = await queries.insert_grant(target["id"], caller.member_id, ",".join(sorted(set(scopes))), now)
        await record(now, caller.principal.actor, "family_grant_requested", "member", target["id"], {"grant": grant_id})
    return answer


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
        # the requester does not see a request until it is confirmed: not even by guessing its id
        mine = row is not None and (
            caller.member_id == row["member"] or (caller.member_id == row["relative"] and row["confirmed_at"])
        )
        if row is None or not mine:
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
