"""Counted events in the database, so limits hold across every API replica."""

from __future__ import annotations

from datetime import datetime, timedelta

from member_api.core.errors import ApiError
from member_api.core.tables import RateEvent


async def count_since(kind: str, key_hash: str, since: datetime) -> int:
    return await RateEvent.count().where(
        (RateEvent.kind == kind) & (RateEvent.key_hash == key_hash) & (RateEvent.at >= since)
    )


async def hit(kind: str, key_hash: str, at: datetime) -> None:
    await RateEvent.insert(RateEvent(kind=kind, key_hash=key_hash, at=at)).run()


def too_many(retry_after_s: int, code: str = "rate_limited") -> ApiError:
    return ApiError(
        code,
        429,
        "操作过于频繁，请稍后再试",
        "Too many attempts; try again later.",
        headers={"Retry-After": str(max(1, retry_after_s))},
        extra={"retry_after_s": retry_after_s},
    )


async def enforce(kind: str, key_hash: str, now: datetime, limit: int, window: timedelta) -> None:
    if await count_since(kind, key_hash, now - window) >= limit:
        raise too_many(int(window.total_seconds()))
