"""The notices area's SQL, as named functions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from member_api.db import fetch, fetch_one


async def insert(
    recipients: list[int],
    about: int,
    kind: str,
    text_zh: str,
    now: datetime,
    *,
    movement_id: int | None = None,
    dispute_id: int | None = None,
    link: str = "",
    ref_id: int | None = None,
) -> None:
    """One row per recipient; a recipient who turned the kind off gets it in the app but not pushed."""
    muted = await muted_recipients(recipients, kind)
    for recipient in recipients:
        await fetch(
            "INSERT INTO notice (recipient, about, kind, movement_id, dispute_id, text_zh, created_at, push_state,"
            " attempts, link, ref_id) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, 0, {}, {})",
            recipient,
            about,
            kind,
            movement_id,
            dispute_id,
            text_zh,
            now,
            "off" if recipient in muted else "pending",
            link,
            ref_id,
        )


async def muted_recipients(recipients: list[int], kind: str) -> set[int]:
    muted = set()
    for recipient in recipients:
        row = await fetch_one("SELECT enabled FROM notice_preference WHERE member = {} AND kind = {}", recipient, kind)
        if row is not None and not row["enabled"]:
            muted.add(recipient)
    return muted


async def facility_name(facility_id: int) -> str:
    row = await fetch_one("SELECT name FROM facility WHERE id = {}", facility_id)
    return str(row["name"]) if row else ""


async def page(recipient: int, before_id: int | None, limit: int) -> list[dict[str, Any]]:
    if before_id:
        return await fetch(
            "SELECT * FROM notice WHERE recipient = {} AND id < {} ORDER BY id DESC LIMIT {}",
            recipient,
            before_id,
            limit,
        )
    return await fetch("SELECT * FROM notice WHERE recipient = {} ORDER BY id DESC LIMIT {}", recipient, limit)


async def unread(recipient: int) -> int:
    row = await fetch_one("SELECT COUNT(*) AS n FROM notice WHERE recipient = {} AND read_at IS NULL", recipient)
    return int(row["n"]) if row else 0


async def mark_read(recipient: int, up_to_id: int, now: datetime) -> int:
    rows = await fetch(
        "UPDATE notice SET read_at = {} WHERE recipient = {} AND id <= {} AND read_at IS NULL RETURNING id",
        now,
        recipient,
        up_to_id,
    )
    return len(rows)


# One statement claims a batch: a row another worker claimed meanwhile no longer matches the outer WHERE (on
# PostgreSQL the update re-checks the row it waited for; SQLite runs one writer at a time), so no notice is
# handed to two workers. The lease ends a crashed worker's claim; after a failure it is the next attempt's time.
CLAIM_DUE = (
    "UPDATE notice SET lease_until = {}, attempts = attempts + 1"
    " WHERE push_state = 'pending' AND (lease_until IS NULL OR lease_until <= {}) AND id IN"
    " (SELECT id FROM notice WHERE push_state = 'pending' AND (lease_until IS NULL OR lease_until <= {})"
    " ORDER BY id LIMIT {})"
    " RETURNING id, recipient, kind, text_zh, link, created_at, attempts"
)


async def claim_due(now: datetime, lease_until: datetime, limit: int) -> list[dict[str, Any]]:
    return await fetch(CLAIM_DUE, lease_until, now, now, limit)


async def expire_pending(older_than: datetime, now: datetime) -> int:
    rows = await fetch(
        "UPDATE notice SET push_state = 'dead', push_error = 'expired', lease_until = NULL"
        " WHERE push_state = 'pending' AND created_at < {} AND (lease_until IS NULL OR lease_until <= {})"
        " RETURNING id",
        older_than,
        now,
    )
    return len(rows)


async def push_done(notice_ids: list[int], now: datetime) -> None:
    """The pushed notices of a batch, in one statement."""
    if not notice_ids:
        return
    marks = ", ".join("{}" for _ in notice_ids)  # placeholders only: the ids are bound values
    sql = f"UPDATE notice SET push_state = 'sent', delivered_at = {{}}, lease_until = NULL, push_error = NULL WHERE id IN ({marks})"  # noqa: S608, E501
    await fetch(sql, now, *notice_ids)


async def push_retry(notice_id: int, next_at: datetime, error: str) -> None:
    await fetch("UPDATE notice SET lease_until = {}, push_error = {} WHERE id = {}", next_at, error[:64], notice_id)


async def push_stop(notice_id: int, state: str, error: str) -> None:
    """``dead`` (gave up) or ``off`` (nothing to push it through: no WeChat user, no subscription)."""
    await fetch(
        "UPDATE notice SET push_state = {}, push_error = {}, lease_until = NULL WHERE id = {}",
        state,
        error[:64],
        notice_id,
    )


async def outbox_counts() -> dict[str, int]:
    rows = await fetch("SELECT push_state, COUNT(*) AS n FROM notice GROUP BY push_state")
    return {str(r["push_state"]): int(r["n"]) for r in rows}


async def dead_letters(limit: int) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT id, kind, push_error, attempts, created_at FROM notice WHERE push_state = 'dead'"
        " ORDER BY id DESC LIMIT {}",
        limit,
    )


async def requeue(ids: list[int] | None) -> int:
    """Dead letters back into the outbox (all of them when ``ids`` is None), attempts from zero."""
    if ids is None:
        rows = await fetch(
            "UPDATE notice SET push_state = 'pending', attempts = 0, lease_until = NULL, push_error = NULL"
            " WHERE push_state = 'dead' RETURNING id"
        )
        return len(rows)
    n = 0
    for notice_id in ids:
        n += len(
            await fetch(
                "UPDATE notice SET push_state = 'pending', attempts = 0, lease_until = NULL, push_error = NULL"
                " WHERE push_state = 'dead' AND id = {} RETURNING id",
                notice_id,
            )
        )
    return n


async def spend_subscription(member_id: int, kind: str, now: datetime) -> bool:
    rows = await fetch(
        "UPDATE notice_subscription SET remaining = remaining - 1, updated_at = {}"
        " WHERE member = {} AND kind = {} AND remaining > 0 RETURNING id",
        now,
        member_id,
        kind,
    )
    return bool(rows)


async def add_subscriptions(member_id: int, kind: str, n: int, now: datetime) -> None:
    await fetch(
        "INSERT INTO notice_subscription (member, kind, remaining, updated_at) VALUES ({}, {}, {}, {})"
        " ON CONFLICT (member, kind) DO UPDATE SET remaining = notice_subscription.remaining + excluded.remaining,"
        " updated_at = excluded.updated_at",
        member_id,
        kind,
        n,
        now,
    )


async def subscriptions(member_id: int) -> dict[str, int]:
    rows = await fetch("SELECT kind, remaining FROM notice_subscription WHERE member = {}", member_id)
    return {str(r["kind"]): int(r["remaining"]) for r in rows}


async def preferences(member_id: int) -> dict[str, bool]:
    rows = await fetch("SELECT kind, enabled FROM notice_preference WHERE member = {}", member_id)
    return {str(r["kind"]): bool(r["enabled"]) for r in rows}


async def set_preference(member_id: int, kind: str, enabled: bool) -> None:
    await fetch(
        "INSERT INTO notice_preference (member, kind, enabled) VALUES ({}, {}, {})"
        " ON CONFLICT (member, kind) DO UPDATE SET enabled = excluded.enabled",
        member_id,
        kind,
        enabled,
    )


async def alert_sent(recipient: int, kind: str, ref_id: int) -> bool:
    """Whether this alert (kind, what it is about) already went to the recipient: alerts are sent once."""
    row = await fetch_one(
        "SELECT 1 AS x FROM notice WHERE recipient = {} AND kind = {} AND ref_id = {}", recipient, kind, ref_id
    )
    return row is not None


async def notice_of(recipient: int, notice_id: int) -> dict[str, Any] | None:
    return await fetch_one("SELECT * FROM notice WHERE recipient = {} AND id = {}", recipient, notice_id)


async def mark_one_read(recipient: int, notice_id: int, now: datetime) -> None:
    await fetch(
        "UPDATE notice SET read_at = {} WHERE recipient = {} AND id = {} AND read_at IS NULL", now, recipient, notice_id
    )


# ---- reads for the alerts (other areas' rows, read-only) ------------------------------------------------------------


async def used_fen(member_id: int, year: int) -> int:
    row = await fetch_one("SELECT used_fen FROM benefit_account WHERE member = {} AND year = {}", member_id, year)
    return int(row["used_fen"]) if row else 0


async def claims_decided_since(since: datetime) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT id, member, status, paid_fen FROM claim WHERE decided_at IS NOT NULL AND decided_at >= {}"
        " AND status IN ('approved', 'partly_approved', 'rejected') ORDER BY id",
        since,
    )


async def change_requests_decided_since(since: datetime) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT id, member, status, effective_from FROM designation_change_request"
        " WHERE decided_at IS NOT NULL AND decided_at >= {} AND status IN ('approved', 'rejected') ORDER BY id",
        since,
    )


async def designations_effective(first: date, last: date) -> list[dict[str, Any]]:
    """Designations made by an approved change that took effect between ``first`` and ``last``."""
    return await fetch(
        "SELECT d.id, d.member, d.valid_from, f.name AS institution_name FROM designation d"
        " JOIN facility f ON f.id = d.institution"
        " WHERE d.change_request IS NOT NULL AND d.valid_from >= {} AND d.valid_from <= {} ORDER BY d.id",
        first,
        last,
    )


async def newborn_drafts() -> list[dict[str, Any]]:
    return await fetch(
        "SELECT id, member, submitted_by FROM claim WHERE kind = 'newborn' AND status = 'draft' ORDER BY id"
    )
