"""The notices area's SQL, as named functions."""

from __future__ import annotations

from datetime import datetime
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
) -> None:
    if not recipients:
        return
    rows = ", ".join("({}, {}, {}, {}, {}, {}, {})" for _ in recipients)  # one statement for all recipients
    await fetch(
        f"INSERT INTO notice (recipient, about, kind, movement_id, dispute_id, text_zh, created_at) VALUES {rows}",  # noqa: S608
        *(v for r in recipients for v in (r, about, kind, movement_id, dispute_id, text_zh, now)),
    )


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


async def claim_undelivered(now: datetime, limit: int) -> list[dict[str, Any]]:
    """Mark a batch delivered in one statement; a concurrent worker re-checks ``delivered_at`` and skips them."""
    return await fetch(
        "UPDATE notice SET delivered_at = {} WHERE delivered_at IS NULL AND id IN"
        " (SELECT id FROM notice WHERE delivered_at IS NULL ORDER BY id LIMIT {})"
        " RETURNING id, recipient, text_zh",
        now,
        limit,
    )
