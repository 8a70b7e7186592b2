"""Issuing a member's e-credential: the one path the API and the H5 pages both take."""

from __future__ import annotations

from datetime import UTC, datetime

from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.credential import tokens
from member_api.credential.schemas import Credential
from member_api.members.service import eligibility


async def issue(ctx: AppContext, member_id: int) -> Credential:
    """A fresh signed token for the member, with when to renew it and the eligibility shown beside it."""
    caches = ctx.caches
    now = ctx.clock.now()
    token, exp = tokens.issue(ctx.keyring, member_id, now, ctx.settings.credential_ttl_s)
    today = local_today(ctx.clock)
    eligible = caches.eligibility.get((member_id, today))
    if eligible is None:
        eligible = caches.eligibility[(member_id, today)] = await eligibility(member_id, today)
    # Refresh a quarter of the lifetime early so a code on screen is never stale when scanned.
    early = max(5, ctx.settings.credential_ttl_s // 4)
    return Credential(
        token=token,
        expires_at=datetime.fromtimestamp(exp, UTC),
        refresh_after=datetime.fromtimestamp(exp - early, UTC),
        eligible=eligible,
        year=today.year,
    )
