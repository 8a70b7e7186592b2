"""Issuing a member's e-credential: the one path the API and the H5 pages both take."""

from __future__ import annotations

from datetime import UTC, datetime

from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.credential import certificate, national, tokens
from member_api.credential.schemas import Credential
from member_api.facilities import service as facility_service
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


async def resolve_scan(
    ctx: AppContext, value: str, facility_id: int | None, operator_id: str = ""
) -> tuple[str | None, str | None]:
    """R8: what a counter scanned or typed, as ``(credential, id_number)`` for verify and settle.

    member-api's own QR token stays a credential (its single-use ``jti`` is checked there); digits (and a final X)
    are a typed ID number, checked as such later; anything else is a national e-credential code, resolved by the
    national decoding service to the ID number it names (``national.decode``: 503 when the service is down).
    """
    scanned = value.strip()
    if national.is_own_token(scanned):
        return scanned, None
    typed = scanned.replace(" ", "").upper()
    if len(typed) <= 18 and typed.rstrip("X").isdigit():
        return None, typed
    org_id = (await facility_service.detail(facility_id)).code if facility_id is not None else ""
    found = await national.decode(ctx, scanned, org_id, operator_id)
    return None, found.id_number


def sign_certificate(ctx: AppContext, facts: dict[str, object]) -> tuple[str, str]:
    """A signed 参保证明 token over exactly the facts it shows, and its number (``credential.certificate``)."""
    return certificate.issue(ctx.keyring, facts, ctx.clock.now())


def read_certificate(ctx: AppContext, token: str) -> dict[str, object]:
    """The facts of a genuine, unexpired certificate; 422 ``certificate_invalid`` / ``certificate_expired``."""
    return certificate.read(ctx.keyring, token, ctx.clock.now())
