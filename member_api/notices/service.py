"""Notices for every fund movement and dispute decision: to the member, their guardian (while a minor) and
relatives authorised to view (P1). Rows are written in the movement's transaction; push delivery drains them."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from member_api.core.push import PushSender
from member_api.family import service as family_service
from member_api.notices import queries
from member_api.notices.schemas import NoticePage, NoticeView
from member_api.policy import parameters
from member_api.policy.family import dispute_open_until, guardianship_applies

log = logging.getLogger("member_api.notices")


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


async def recipients(member_id: int, day: date) -> list[int]:
    """The member, the guardian while guardianship applies, and relatives with the view scope."""
    found = [member_id]
    facts, relatives = await family_service.guardian_and_relatives(member_id, "view")
    if facts and facts["guardian"] and guardianship_applies(parameters.for_date(day), facts["birth_date"], day):
        found.append(facts["guardian"])
    return list(dict.fromkeys(found + relatives))


def movement_text(row: dict[str, Any], facility: str) -> str:
    day, fund, own = row["visit_date"], row["fund_fen"], row["member_fen"]
    if row["kind"] == "reversal":
        return (
            f"【韶关医保】{day} 在{facility}的门诊结算已冲正：统筹基金退回 {yuan(-fund)} 元，"
            f"个人退回 {yuan(-own)} 元，年度额度已恢复。"
        )
    if row["kind"] == "claim_payout":
        return f"【韶关医保】报销已支付：{day} 在{facility}的门诊费用，统筹基金支付 {yuan(fund)} 元。"
    until = dispute_open_until(parameters.for_year(row["year"]), _day(row["created_at"]))
    return (
        f"【韶关医保】{day} 在{facility}门诊结算：总费用 {yuan(fund + own)} 元，统筹基金支付 {yuan(fund)} 元，"
        f"个人支付 {yuan(own)} 元。如非本人就诊或金额有误，请于 {until} 前在“我的结算”中提出异议。"
    )


def _day(at: datetime | date) -> date:
    return at.date() if isinstance(at, datetime) else at


async def notify_movement(row: dict[str, Any], now: datetime, facility_name: str | None = None) -> None:
    """Called by the ledger inside the movement's transaction: the notice commits with the money or not at all."""
    text = movement_text(row, facility_name or await queries.facility_name(row["facility"]))
    await queries.insert(
        await recipients(row["member"], _day(now)), row["member"], row["kind"], text, now, movement_id=row["id"]
    )


async def notify(member_id: int, kind: str, text_zh: str, now: datetime, *, dispute_id: int | None = None) -> None:
    await queries.insert(await recipients(member_id, _day(now)), member_id, kind, text_zh, now, dispute_id=dispute_id)


async def page(recipient: int, before_id: int | None, limit: int) -> NoticePage:
    rows = await queries.page(recipient, before_id, limit + 1)
    items = [
        NoticeView(
            id=r["id"],
            about_member_id=r["about"],
            kind=r["kind"],
            movement_id=r["movement_id"],
            dispute_id=r["dispute_id"],
            text_zh=r["text_zh"],
            created_at=r["created_at"],
            read=r["read_at"] is not None,
        )
        for r in rows[:limit]
    ]
    return NoticePage(
        unread=await queries.unread(recipient),
        items=items,
        next_before_id=items[-1].id if len(rows) > limit and items else None,
    )


async def mark_read(recipient: int, up_to_id: int, now: datetime) -> tuple[int, int]:
    marked = await queries.mark_read(recipient, up_to_id or 2**62, now)
    return marked, await queries.unread(recipient)


async def deliver_pending(sender: PushSender, now: datetime, batch: int = 200) -> int:
    """Push what is not yet delivered; each notice is claimed by one worker (at most once)."""
    claimed = await queries.claim_undelivered(now, batch)
    for row in claimed:
        try:
            await sender.send(row["recipient"], row["text_zh"], now)
        except Exception:  # a push channel outage must not stop the others; the notice stays readable in the app
            log.warning("push_failed", extra={"notice": row["id"]})
    return len(claimed)
