"""The disputes area's SQL, as named functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from member_api.db import fetch, fetch_one

OPEN, IN_REVIEW, CONFIRMED, REJECTED = "open", "in_review", "confirmed", "rejected"


async def insert(values: dict[str, Any]) -> int:
    columns = ", ".join(values)
    marks = ", ".join("{}" for _ in values)
    row = await fetch_one(f"INSERT INTO dispute ({columns}) VALUES ({marks}) RETURNING id", *values.values())  # noqa: S608
    assert row is not None
    return int(row["id"])


async def one(dispute_id: int) -> dict[str, Any] | None:
    return await fetch_one("SELECT * FROM dispute WHERE id = {}", dispute_id)


async def of_member(member_id: int) -> list[dict[str, Any]]:
    return await fetch("SELECT * FROM dispute WHERE member = {} ORDER BY id DESC", member_id)


async def queue(status: str | None, limit: int) -> list[dict[str, Any]]:
    if status:
        return await fetch("SELECT * FROM dispute WHERE status = {} ORDER BY id LIMIT {}", status, limit)
    return await fetch("SELECT * FROM dispute WHERE status IN ({}, {}) ORDER BY id LIMIT {}", OPEN, IN_REVIEW, limit)


async def take(dispute_id: int, reviewer_id: int) -> bool:
    """Open -> in review by this reviewer, in one statement (a second reviewer finds it taken)."""
    rows = await fetch(
        "UPDATE dispute SET status = {}, taken_by = {} WHERE id = {} AND status = {} RETURNING id",
        IN_REVIEW,
        reviewer_id,
        dispute_id,
        OPEN,
    )
    return bool(rows)


async def decide(
    dispute_id: int, reviewer_id: int, status: str, reason: str, reversal_id: int | None, now: datetime
) -> bool:
    rows = await fetch(
        "UPDATE dispute SET status = {}, decided_by = {}, decision_reason = {}, reversal_id = {}, decided_at = {}"
        " WHERE id = {} AND status = {} AND taken_by = {} RETURNING id",
        status,
        reviewer_id,
        reason,
        reversal_id,
        now,
        dispute_id,
        IN_REVIEW,
        reviewer_id,
    )
    return bool(rows)
