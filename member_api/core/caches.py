"""Per-process read caches for the hottest lookups (the e-credential screen refreshes every minute).

Only facts that cannot change, or whose staleness is harmless for a bounded time, are cached: an account's
binding, a staff member's active flag and institution, and whether a login session is still open (all at most
``SESSION_CHECK_TTL_S`` old: an import or a counter can unbind an account, and logout, refresh-token reuse or a
password change end a session, and every worker must notice within 5 seconds), the eligibility flag shown beside
the QR code (the counter re-checks eligibility when it settles), and access tokens whose signature, audience and
issuer already checked out (their times and their key's presence in the key ring are checked on every use).
One instance per app, so tests and replicas never share state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cachetools import TTLCache

ELIGIBILITY_TTL_S = 60
VERIFIED_TOKEN_TTL_S = 60
SESSION_CHECK_TTL_S = 3.0  # below the 5 s promised for logout, with room for a request in flight


@dataclass
class Caches:
    account_member: TTLCache[int, int] = field(
        default_factory=lambda: TTLCache(maxsize=200_000, ttl=SESSION_CHECK_TTL_S)
    )
    staff: TTLCache[int, tuple[bool, int | None]] = field(
        default_factory=lambda: TTLCache(maxsize=20_000, ttl=SESSION_CHECK_TTL_S)
    )
    sessions: TTLCache[str, bool] = field(default_factory=lambda: TTLCache(maxsize=200_000, ttl=SESSION_CHECK_TTL_S))
    eligibility: TTLCache[tuple[int, date], bool] = field(
        default_factory=lambda: TTLCache(maxsize=200_000, ttl=ELIGIBILITY_TTL_S)
    )
    verified_tokens: TTLCache[str, tuple[str, dict[str, Any]]] = field(
        default_factory=lambda: TTLCache(maxsize=50_000, ttl=VERIFIED_TOKEN_TTL_S)
    )
