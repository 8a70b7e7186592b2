"""Per-process read caches for the hottest lookups (the e-credential screen refreshes every minute).

Only facts that cannot change, or whose staleness is harmless for a bounded time, are cached:
an account's binding (permanent once made), a member's opaque credential subject (immutable), and
the eligibility flag shown beside the QR code (the counter re-checks eligibility when it settles), and
access tokens whose signature, audience and issuer already checked out (their times are checked on every
use; the entry lives at most ``VERIFIED_TOKEN_TTL_S``, so a retired key stops working within it).
One instance per app, so tests and replicas never share state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cachetools import LRUCache, TTLCache

ELIGIBILITY_TTL_S = 60
VERIFIED_TOKEN_TTL_S = 60


@dataclass
class Caches:
    account_member: LRUCache[int, int] = field(default_factory=lambda: LRUCache(maxsize=200_000))
    credential_subject: LRUCache[int, str] = field(default_factory=lambda: LRUCache(maxsize=200_000))
    eligibility: TTLCache[tuple[int, date], bool] = field(
        default_factory=lambda: TTLCache(maxsize=200_000, ttl=ELIGIBILITY_TTL_S)
    )
    verified_tokens: TTLCache[str, dict[str, Any]] = field(
        default_factory=lambda: TTLCache(maxsize=50_000, ttl=VERIFIED_TOKEN_TTL_S)
    )
