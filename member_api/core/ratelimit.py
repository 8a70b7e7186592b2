"""Limits kept in the database, so they hold across every API replica, each decided atomically.

Two shapes:

- ``hit``: at most ``limit`` events per key in a fixed window (aligned to the epoch: per minute, per hour,
  per UTC day). One statement counts and decides: ``INSERT ... ON CONFLICT DO UPDATE SET n = n + 1 WHERE
  n < limit RETURNING n``; concurrent callers queue on the counter row, so exactly ``limit`` pass.
- ``admit``: attempts per key with no limit but a growing delay once the free ones are used (staff login).
  The key's row is locked by an upsert (``ON CONFLICT DO UPDATE`` locks it on PostgreSQL; SQLite's write
  transaction is exclusive) and read, decided and updated inside the caller's write transaction.

Both count an attempt *before* the work it guards is done, so a burst of concurrent attempts cannot all be
evaluated before the first failure is recorded; ``refund`` and ``clear`` give attempts back after a success.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from member_api.core.errors import DomainError
from member_api.db import fetch, fetch_one


def too_many(retry_after_s: int, code: str = "rate_limited") -> DomainError:
    retry_after_s = max(1, retry_after_s)
    return DomainError(
        code,
        "操作过于频繁，请稍后再试",
        "Too many attempts; try again later.",
        headers={"Retry-After": str(retry_after_s)},
        extra={"retry_after_s": retry_after_s},
    )


def window_of(now: datetime, window: timedelta) -> tuple[datetime, datetime]:
    """The fixed window holding ``now``: windows are aligned to multiples of their length since the epoch."""
    seconds = int(window.total_seconds())
    start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, UTC)
    return start, start + window


HIT = (
    "INSERT INTO rate_counter (kind, key_hash, window_start, n, expires_at) VALUES ({}, {}, {}, 1, {})"
    " ON CONFLICT (kind, key_hash, window_start) DO UPDATE SET n = rate_counter.n + 1"
    " WHERE rate_counter.n < {} RETURNING n"
)


async def hit(
    kind: str, key_hash: str, now: datetime, limit: int, window: timedelta, code: str = "rate_limited"
) -> int:
    """Count one event in the window holding ``now`` (the count so far), or raise 429 when ``limit`` is reached."""
    start, end = window_of(now, window)
    rows = await fetch(HIT, kind, key_hash, start, end, limit) if limit > 0 else []
    if not rows:
        raise too_many(math.ceil((end - now).total_seconds()), code)
    return int(rows[0]["n"])


async def unhit(kind: str, key_hash: str, now: datetime, window: timedelta) -> None:
    """Give back one event counted by ``hit`` in the window holding ``now`` (the action did not happen)."""
    start, _ = window_of(now, window)
    await fetch(
        "UPDATE rate_counter SET n = n - 1 WHERE kind = {} AND key_hash = {} AND window_start = {} AND n > 0",
        kind,
        key_hash,
        start,
    )


@dataclass(frozen=True)
class Backoff:
    """``free`` attempts, then a wait of ``base_s`` doubling per attempt up to ``max_s``; quiet ``forget_s`` resets."""

    free: int
    base_s: float
    max_s: float
    forget_s: float

    def delay_s(self, n: int) -> float:
        """The wait after the ``n``-th attempt."""
        if n < self.free:
            return 0.0
        return min(self.max_s, self.base_s * 2 ** min(n - self.free, 32))


LOCK_BACKOFF = (
    "INSERT INTO rate_backoff (kind, key_hash, n, last_at, blocked_until, expires_at) VALUES ({}, {}, 0, {}, {}, {})"
    " ON CONFLICT (kind, key_hash) DO UPDATE SET n = rate_backoff.n RETURNING n, last_at, blocked_until"
)
SET_BACKOFF = (
    "UPDATE rate_backoff SET n = {}, last_at = {}, blocked_until = {}, expires_at = {}"
    " WHERE kind = {} AND key_hash = {}"
)


async def admit(kind: str, key_hash: str, now: datetime, policy: Backoff, code: str = "rate_limited") -> int:
    """Count an attempt (the count so far) unless the key is waiting out its delay (then 429 with Retry-After).

    Call inside ``write_transaction()``: the row stays locked until the transaction ends.
    """
    row = await fetch_one(LOCK_BACKOFF, kind, key_hash, now, now, now)
    assert row is not None
    blocked_until = _aware(row["blocked_until"])
    if blocked_until > now:
        raise too_many(math.ceil((blocked_until - now).total_seconds()), code)
    quiet = _aware(row["last_at"]) < now - timedelta(seconds=policy.forget_s)
    n = 1 if quiet else int(row["n"]) + 1
    delay = policy.delay_s(n)
    # a free attempt leaves the block where it was: "blocked until now" would refuse a concurrent attempt whose clock
    # reading came a moment earlier (on a loaded machine, fewer than ``free`` attempts were evaluated)
    until = now + timedelta(seconds=delay) if delay > 0 else blocked_until
    expires = max(until, now + timedelta(seconds=policy.forget_s))
    await fetch(SET_BACKOFF, n, now, until, expires, kind, key_hash)
    return n


async def hold(kind: str, key_hash: str, now: datetime, policy: Backoff) -> None:
    """Restart the key's current delay from ``now`` (when the failure is known, not when it was admitted):
    a slow check cannot eat up the wait. Only ever lengthens the block, so concurrent calls cannot shorten it."""
    row = await fetch_one("SELECT n FROM rate_backoff WHERE kind = {} AND key_hash = {}", kind, key_hash)
    if row is None or policy.delay_s(int(row["n"])) <= 0:
        # a free attempt has no delay to restart: a block "until now" would refuse the free attempts admitted
        # behind it on a loaded machine (their clock reading predates this one), so fewer than ``free`` were evaluated
        return
    until = now + timedelta(seconds=policy.delay_s(int(row["n"])))
    await fetch(
        "UPDATE rate_backoff SET blocked_until = {}, expires_at = {} WHERE kind = {} AND key_hash = {}"
        " AND blocked_until < {}",
        until,
        max(until, now + timedelta(seconds=policy.forget_s)),
        kind,
        key_hash,
        until,
    )


async def refund(kind: str, key_hash: str) -> None:
    """Give one counted attempt back (a success that should not count against a shared key)."""
    await fetch(
        "UPDATE rate_backoff SET n = n - 1 WHERE kind = {} AND key_hash = {} AND n > 0",
        kind,
        key_hash,
    )


async def clear(kind: str, key_hash: str) -> None:
    """Forget the key's attempts (a success on a key that names one person)."""
    await fetch("DELETE FROM rate_backoff WHERE kind = {} AND key_hash = {}", kind, key_hash)


async def backoff_count(kind: str, key_hash: str) -> int:
    row = await fetch_one("SELECT n FROM rate_backoff WHERE kind = {} AND key_hash = {}", kind, key_hash)
    return int(row["n"]) if row else 0


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite hands back RETURNING values as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
