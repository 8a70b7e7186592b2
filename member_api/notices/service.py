"""Notices for every fund movement and dispute decision, and alerts worth having: to the member, their guardian
(while a minor) and relatives authorised to view (P1). Movement notices are written in the movement's transaction;
alerts about decisions and dates are found by a scan each worker runs (``scan_alerts``; each alert once, by its
kind and what it is about), so no other area needs a hook. The push delivery drains the outbox."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from member_api.core import labels
from member_api.core.context import AppContext
from member_api.core.push import OutgoingNotice, PushRetry, PushSender, PushSkipped
from member_api.core.types import MAX_ID
from member_api.db import write_transaction
from member_api.family import service as family_service
from member_api.notices import queries
from member_api.notices.schemas import NoticePage, NoticePreferenceView, NoticeView
from member_api.policy import parameters
from member_api.policy.claim_window import in_claim_window, next_claim_window
from member_api.policy.family import dispute_open_until, guardianship_applies
from member_api.settings import Settings

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


NOT_DESIGNATED = "not_designated"
ALERT_KINDS = (
    "cap_low",
    "refused_visit",
    "claim_decided",
    "change_decided",
    "designation_effective",
    "newborn_window",
)
MONEY_KINDS = ("counter", "reversal", "claim_payout", "cap_low", "refused_visit", "claim_decided")
KIND_TITLES = labels.zh(labels.NOTICE_KINDS)
"""The kinds a resident can turn off (per kind) and their titles in the app and in subscription messages."""


def refused_visit_text(day: Any, facility: str) -> str:
    return (
        f"【韶关医保】{day} 在{facility}的门诊未由统筹基金支付：该机构不是您的签约机构。"
        "普通门诊请到签约的村卫生站或镇卫生院就诊；需要到其他机构就诊时，请先由签约机构办理转诊；"
        "急诊可在任何机构就诊，结算时请说明为急诊。"
    )


async def notify_movement(
    row: dict[str, Any], now: datetime, facility_name: str | None = None, *, to: list[int] | None = None
) -> None:
    """Called by the ledger inside the movement's transaction: the notice commits with the money or not at all.

    Two alerts ride along: a visit outside the designated pair paid 0 says what to do instead; and the first
    movement that leaves less than ``cap_alert_below_bp`` of the year's cap says so, once a year.
    ``facility_name`` and ``to`` (what ``recipients(member, now's date)`` answers): when the caller read them
    already, outside the account lock (issue 31: fewer statements under the lock)."""
    facility = facility_name or await queries.facility_name(row["facility"])
    text = movement_text(row, facility)
    who = to if to is not None else await recipients(row["member"], _day(now))
    reasons = row.get("reasons") or []
    if isinstance(reasons, str):
        reasons = json.loads(reasons or "[]")
    if row["kind"] == "counter" and row["fund_fen"] == 0 and NOT_DESIGNATED in reasons:
        # written first, so the settlement itself is the newest in the list and the explanation right below it
        await queries.insert(
            who,
            row["member"],
            "refused_visit",
            refused_visit_text(row["visit_date"], facility),
            now,
            movement_id=row["id"],
            link="/app/clinics",
            ref_id=row["id"],
        )
    link = f"/app/history/{row['id']}"
    await queries.insert(who, row["member"], row["kind"], text, now, movement_id=row["id"], link=link)
    if row["kind"] in ("counter", "claim_payout") and row["fund_fen"] > 0:
        await _cap_alert(row["member"], row["year"], who, now)


async def _cap_alert(member_id: int, year: int, who: list[int], now: datetime) -> None:
    params = parameters.for_year(year)
    used = await queries.used_fen(member_id, year)
    remaining = max(0, params.annual_cap_fen - used)
    if remaining * 10_000 >= params.annual_cap_fen * params.cap_alert_below_bp:
        return
    fresh = [r for r in who if not await queries.alert_sent(r, "cap_low", year)]
    if fresh:
        share = params.cap_alert_below_bp // 100
        text = (
            f"【韶关医保】{year} 年度普通门诊统筹额度剩余 {yuan(remaining)} 元"
            f"（年度额度 {yuan(params.annual_cap_fen)} 元），"
            f"已低于 {share}%。超出额度的费用需个人支付。"
        )
        await queries.insert(fresh, member_id, "cap_low", text, now, link="/app/history", ref_id=year)


async def notify(
    member_id: int,
    kind: str,
    text_zh: str,
    now: datetime,
    *,
    dispute_id: int | None = None,
    link: str = "",
    ref_id: int | None = None,
) -> None:
    """A notice about ``member_id`` to everyone who should know (the face for other areas' own notices)."""
    await queries.insert(
        await recipients(member_id, _day(now)),
        member_id,
        kind,
        text_zh,
        now,
        dispute_id=dispute_id,
        link=link,
        ref_id=ref_id,
    )


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
            title=KIND_TITLES.get(r["kind"], "医保消息"),
            link=r["link"] or "",
        )
        for r in rows[:limit]
    ]
    return NoticePage(
        unread=await queries.unread(recipient),
        items=items,
        next_before_id=items[-1].id if len(rows) > limit and items else None,
    )


async def mark_read(recipient: int, up_to_id: int, now: datetime) -> tuple[int, int]:
    marked = await queries.mark_read(recipient, up_to_id or MAX_ID, now)  # the id column is a serial (int4)
    return marked, await queries.unread(recipient)


@dataclass(frozen=True)
class OutboxPolicy:
    """How the outbox retries: ``max_attempts`` pushes, the delay doubling from ``backoff_s`` (at most an hour),
    no push later than ``expire_s`` after the notice was written; a claim is held ``lease_s`` by its worker."""

    max_attempts: int = 8
    backoff_s: float = 30.0
    expire_s: int = 3 * 24 * 3600
    lease_s: float = 300.0

    @classmethod
    def of(cls, settings: Settings) -> OutboxPolicy:
        return cls(
            max_attempts=settings.push_max_attempts,
            backoff_s=settings.push_backoff_s,
            expire_s=settings.push_expire_s,
        )

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(3600.0, self.backoff_s * 2 ** max(0, attempts - 1)))


async def deliver_pending(
    sender: PushSender, now: datetime, policy: OutboxPolicy | None = None, batch: int = 50
) -> int:
    """Push what is due: each notice is claimed by one worker at a time (one statement), so two workers
    draining at once never push a notice twice. A failed push waits (back-off) and is retried until
    ``max_attempts`` or expiry make it a dead letter (``member-api outbox``); the notice stays in the app."""
    policy = policy or OutboxPolicy()
    async with write_transaction():
        await queries.expire_pending(now - timedelta(seconds=policy.expire_s), now)
        claimed = await queries.claim_due(now, now + timedelta(seconds=policy.lease_s), batch)
    done: list[int] = []
    for row in claimed:
        notice = OutgoingNotice(
            id=row["id"],
            recipient=row["recipient"],
            kind=row["kind"],
            text_zh=row["text_zh"],
            link=row["link"] or "",
            created_at=row["created_at"],
        )
        try:
            await sender.send(notice, now)
        except PushSkipped as exc:
            await queries.push_stop(notice.id, "off", str(exc) or "skipped")
        except Exception as exc:  # an outage of the channel must not stop the others: retry later
            reason = str(exc) if isinstance(exc, PushRetry) else type(exc).__name__
            if row["attempts"] >= policy.max_attempts:
                await queries.push_stop(notice.id, "dead", reason or "failed")
                log.warning("push_dead_letter", extra={"notice": notice.id, "reason": reason})
            else:
                await queries.push_retry(notice.id, now + policy.delay(row["attempts"]), reason or "failed")
                log.info("push_retry", extra={"notice": notice.id, "reason": reason})
        else:
            done.append(notice.id)
    await queries.push_done(done, now)  # a crash before this pushes the batch again after its lease: at least once
    return len(claimed)


async def outbox(limit: int = 50) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """For operators: notices per push state, and the newest dead letters (id, kind, error, attempts)."""
    return await queries.outbox_counts(), await queries.dead_letters(limit)


async def requeue(ids: list[int] | None) -> int:
    async with write_transaction():
        return await queries.requeue(ids)


def _view(r: dict[str, Any]) -> NoticeView:
    return NoticeView(
        id=r["id"],
        about_member_id=r["about"],
        kind=r["kind"],
        movement_id=r["movement_id"],
        dispute_id=r["dispute_id"],
        text_zh=r["text_zh"],
        created_at=r["created_at"],
        read=r["read_at"] is not None,
        title=KIND_TITLES.get(r["kind"], "医保消息"),
        link=r["link"] or "",
    )


async def open_notice(recipient: int, notice_id: int, now: datetime) -> NoticeView | None:
    """One notice, marked read as it is opened (None: not the caller's)."""
    async with write_transaction():
        row = await queries.notice_of(recipient, notice_id)
        if row is None:
            return None
        if row["read_at"] is None:
            await queries.mark_one_read(recipient, notice_id, now)
            row = {**row, "read_at": now}
    return _view(row)


async def unread(recipient: int) -> int:
    return await queries.unread(recipient)


async def preferences(member_id: int) -> list[NoticePreferenceView]:
    chosen = await queries.preferences(member_id)
    return [
        NoticePreferenceView(kind=kind, title=title, enabled=chosen.get(kind, True), money=kind in MONEY_KINDS)
        for kind, title in KIND_TITLES.items()
    ]


async def set_preferences(member_id: int, choices: dict[str, bool]) -> list[NoticePreferenceView]:
    async with write_transaction():
        for kind, enabled in choices.items():
            await queries.set_preference(member_id, kind, enabled)
    return await preferences(member_id)


async def record_subscriptions(
    member_id: int, results: dict[str, str], templates: dict[str, str], now: datetime
) -> dict[str, int]:
    """What ``wx.requestSubscribeMessage`` answered (template id -> ``accept``/``reject``/``ban``/``filter``): each
    accepted template allows one more subscription message of its kind. The kinds' remaining counts."""
    kinds_of = {template: kind for kind, template in templates.items()}
    async with write_transaction():
        for template, answer in results.items():
            kind = kinds_of.get(template)
            if kind is not None and answer == "accept":
                await queries.add_subscriptions(member_id, kind, 1, now)
    return await queries.subscriptions(member_id)


def wechat_push(ctx: AppContext) -> PushSender:
    """The ``wechat`` push backend (subscription messages), for the app to wire."""
    from member_api.notices.wechat_push import WechatPush  # the WeChat backend only where it is configured

    return WechatPush(ctx, KIND_TITLES)


# ---- alerts found by a scan (decisions and dates other areas record) ----------------------------------------------

CLAIM_DECIDED_TEXT = {
    "approved": "已审核通过",
    "partly_approved": "部分审核通过",
    "rejected": "未通过审核",
}


async def scan_alerts(now: datetime, today: date, lookback: timedelta = timedelta(days=7)) -> int:
    """Write the alerts due and not yet written: a claim or change request decided, a designation change in
    effect, the newborn claim window open with a draft waiting. Each once (kind + what it is about), so any
    number of workers may scan at any time; a missed scan is caught up within ``lookback``."""
    since = now - lookback
    written = 0
    async with write_transaction():
        for claim in await queries.claims_decided_since(since):
            verdict = CLAIM_DECIDED_TEXT.get(claim["status"], "已处理")
            paid = f"，统筹基金支付 {yuan(claim['paid_fen'])} 元" if claim["paid_fen"] else ""
            text = f"【韶关医保】您的报销申请（编号 {claim['id']}）{verdict}{paid}。详情请查看“报销”。"
            written += await _alert(
                claim["member"], "claim_decided", claim["id"], text, f"/app/claims/{claim['id']}", now
            )
        for request in await queries.change_requests_decided_since(since):
            if request["status"] == "approved":
                text = f"【韶关医保】您的签约机构变更申请已通过，自 {request['effective_from']} 起生效。"
            else:
                text = "【韶关医保】您的签约机构变更申请未通过。详情请查看“签约机构”。"
            written += await _alert(request["member"], "change_decided", request["id"], text, "/app/clinics", now)
        for row in await queries.designations_effective(today - lookback, today):
            text = (
                f"【韶关医保】您的新签约机构{row['institution_name']}自 {row['valid_from']} 起生效，"
                "普通门诊请到新机构就诊。"
            )
            written += await _alert(row["member"], "designation_effective", row["id"], text, "/app/clinics", now)
        if in_claim_window(today):
            window = next_claim_window(today)
            for draft in await queries.newborn_drafts():
                text = (
                    f"【韶关医保】新生儿报销受理期已开始（{window.start} 至 {window.end}），"
                    f"您有一份未提交的报销申请（编号 {draft['id']}），请在受理期内提交。"
                )
                written += await _alert_one(
                    draft["submitted_by"],
                    draft["member"],
                    "newborn_window",
                    draft["id"],
                    text,
                    f"/app/claims/{draft['id']}",
                    now,
                )
    return written


async def _alert(member_id: int, kind: str, ref_id: int, text: str, link: str, now: datetime) -> int:
    who = [r for r in await recipients(member_id, _day(now)) if not await queries.alert_sent(r, kind, ref_id)]
    if who:
        await queries.insert(who, member_id, kind, text, now, link=link, ref_id=ref_id)
    return len(who)


async def _alert_one(recipient: int, about: int, kind: str, ref_id: int, text: str, link: str, now: datetime) -> int:
    if await queries.alert_sent(recipient, kind, ref_id):
        return 0
    await queries.insert([recipient], about, kind, text, now, link=link, ref_id=ref_id)
    return 1
