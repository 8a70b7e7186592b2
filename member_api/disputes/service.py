"""P2 disputes: a member flags a counter settlement within the window; the agency confirms it (the ledger reverses
the settlement and the facility carries it in R15/R16) or rejects it with a reason. Every step is audited."""

from __future__ import annotations

from typing import Any

from member_api.audit.service import record
from member_api.core.clock import LOCAL_TZ, local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, not_found
from member_api.core.principal import MemberCaller, Principal
from member_api.core.uploads import CheckedFile
from member_api.db import UniqueViolation, retry_transient, write_transaction
from member_api.disputes import queries
from member_api.disputes.schemas import DisputeView
from member_api.ledger import service as ledger
from member_api.notices import service as notices
from member_api.policy import parameters
from member_api.policy.family import dispute_open_until


def _view(row: dict[str, Any]) -> DisputeView:
    return DisputeView(
        id=row["id"],
        settlement_id=row["settlement_id"],
        member_id=row["member"],
        facility_id=row["facility"],
        reason=row["reason"],
        text=row["text"],
        has_photo=bool(row["photo_sha256"]),
        status=row["status"],
        decision_reason=row["decision_reason"],
        reversal_id=row["reversal_id"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
    )


def _exists() -> DomainError:
    return DomainError("dispute_exists", "该结算已有待处理的异议", "This settlement already has an open dispute.")


async def file(
    ctx: AppContext,
    caller: MemberCaller,
    member_id: int,
    settlement_id: int,
    reason: str,
    text: str,
    photo: CheckedFile | None,
) -> DisputeView:
    now, today = ctx.clock.now(), local_today(ctx.clock)
    movement = await ledger.member_movement(member_id, settlement_id)
    if movement is None or movement["kind"] != ledger.COUNTER:
        raise not_found("结算记录", "settlement")
    settled_on = movement["created_at"].astimezone(LOCAL_TZ).date()
    until = dispute_open_until(parameters.for_year(movement["year"]), settled_on)
    if today > until:
        raise DomainError(
            "dispute_window_closed",
            f"异议须在结算后规定期限内提出（截至 {until}）",
            f"Disputes for this settlement were accepted until {until}.",
            extra={"until": until.isoformat()},
        )
    digest = ctx.blobs.put(photo.data) if photo else ""
    try:
        async with write_transaction():
            dispute_id = await queries.insert(
                {
                    "settlement_id": settlement_id,
                    "member": member_id,
                    "facility": movement["facility"],
                    "filed_by": caller.principal.actor,
                    "reason": reason,
                    "text": text.strip()[:1000],
                    "photo_sha256": digest,
                    "photo_content_type": photo.content_type if photo else "",
                    "status": queries.OPEN,
                    "decision_reason": "",
                    "created_at": now,
                }
            )
            await record(now, caller.principal.actor, "dispute_filed", "dispute", dispute_id, {"reason": reason})
    except UniqueViolation as exc:
        raise _exists() from exc
    return await one(dispute_id, member_id)


async def one(dispute_id: int, member_id: int | None = None) -> DisputeView:
    row = await queries.one(dispute_id)
    if row is None or (member_id is not None and row["member"] != member_id):
        raise not_found("异议", "dispute")
    return _view(row)


async def of_member(member_id: int) -> list[DisputeView]:
    return [_view(r) for r in await queries.of_member(member_id)]


async def queue(status: str | None, limit: int) -> list[DisputeView]:
    return [_view(r) for r in await queries.queue(status, limit)]


async def photo(dispute_id: int) -> tuple[str, str]:
    row = await queries.one(dispute_id)
    if row is None or not row["photo_sha256"]:
        raise not_found("异议照片", "dispute photo")
    return row["photo_sha256"], row["photo_content_type"]


def _not_in_hand() -> DomainError:
    return DomainError(
        "dispute_not_in_hand", "该异议不在您的处理中", "Take the dispute into review first (or another has it)."
    )


async def take(ctx: AppContext, reviewer: Principal, dispute_id: int) -> DisputeView:
    assert reviewer.staff_id is not None
    row = await queries.one(dispute_id)
    if row is None:
        raise not_found("异议", "dispute")
    now = ctx.clock.now()
    async with write_transaction():
        if not await queries.take(dispute_id, reviewer.staff_id):
            if row["status"] == queries.IN_REVIEW and row["taken_by"] == reviewer.staff_id:
                return _view(row)
            raise _not_in_hand()
        await record(now, reviewer.actor, "dispute_taken", "dispute", dispute_id)
    return await one(dispute_id)


async def decide(ctx: AppContext, reviewer: Principal, dispute_id: int, decision: str, reason: str) -> DisputeView:
    """Confirmed: the settlement is reversed through the ledger in the same transaction; rejected: the reason
    goes to the member. Either way the member (and those who act for them) get a notice."""
    assert reviewer.staff_id is not None

    async def transaction() -> None:
        now = ctx.clock.now()
        async with write_transaction():
            row = await queries.one(dispute_id)
            if row is None:
                raise not_found("异议", "dispute")
            if row["status"] != queries.IN_REVIEW or row["taken_by"] != reviewer.staff_id:
                raise _not_in_hand()
            reversal_id = None
            if decision == "confirm":  # a settlement a counter reversed meanwhile keeps that reversal
                original = await ledger.movement(row["settlement_id"])
                assert original is not None
                reason_text = f"dispute {dispute_id}: {reason}"
                reversal_id = await ledger.ensure_reversed(original, reviewer.staff_id, reason_text, now)
            status = queries.CONFIRMED if decision == "confirm" else queries.REJECTED
            await queries.decide(dispute_id, reviewer.staff_id, status, reason.strip(), reversal_id, now)
            await record(now, reviewer.actor, f"dispute_{status}", "dispute", dispute_id, {"reversal_id": reversal_id})
            if status == queries.CONFIRMED:
                text = f"【韶关医保】您对结算 {row['settlement_id']} 提出的异议已确认，该笔结算已冲正，年度额度已恢复。"
            else:
                text = f"【韶关医保】您对结算 {row['settlement_id']} 提出的异议未获支持。原因：{reason.strip()}"
            await notices.notify(row["member"], f"dispute_{status}", text, now, dispute_id=dispute_id)

    await retry_transient(transaction)
    return await one(dispute_id)
