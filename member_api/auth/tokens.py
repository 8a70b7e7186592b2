"""Access tokens for the API, signed with the access key set (never with the e-credential keys)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from member_api.core.keys import KeyRing
from member_api.core.tokens import sign


def access_token(
    keyring: KeyRing,
    *,
    subject: str,
    role: str,
    facility_id: int | None,
    issuer: str,
    audience: str,
    now: datetime,
    ttl_s: int,
    session: str,
) -> str:
    """A short-lived JWT; ``sid`` names the login session, so ending the session ends the token."""
    iat = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "role": role,
        "sid": session,
        "iat": iat,
        "nbf": iat,
        "exp": iat + ttl_s,
        "jti": secrets.token_urlsafe(9),
    }
    if facility_id is not None:
        claims["facility"] = facility_id
    return sign(keyring.access, claims)
