"""The e-credential: a compact EdDSA JWT with an opaque subject and a single-use ``jti``; no personal data."""

from __future__ import annotations

import secrets
from datetime import datetime

import jwt

from member_api.core.errors import ApiError
from member_api.core.keys import KeyRing
from member_api.core.tokens import TokenError, verify

AUDIENCE = "c"  # one letter: every byte of the token enlarges the QR code


def issue(keyring: KeyRing, subject: str, now: datetime, ttl_s: int) -> tuple[str, int]:
    exp = int(now.timestamp()) + ttl_s
    claims = {"sub": subject, "jti": secrets.token_urlsafe(9), "exp": exp, "aud": AUDIENCE}
    token = jwt.encode(claims, keyring.private_key, algorithm="EdDSA", headers={"kid": keyring.kid, "typ": None})
    return token, exp


def read(keyring: KeyRing, token: str, now: datetime) -> tuple[str, str]:
    """(subject, jti) of a valid credential; 401 ``credential_expired`` or ``credential_invalid`` otherwise."""
    try:
        claims = verify(keyring, token.strip(), audience=AUDIENCE, issuer=None, now=now, required=("exp", "sub", "jti"))
    except TokenError as exc:
        if exc.code == "token_expired":
            raise ApiError(
                "credential_expired",
                401,
                "医保电子凭证已过期，请刷新二维码",
                "The e-credential has expired; refresh the QR code.",
            ) from exc
        raise ApiError("credential_invalid", 401, "医保电子凭证无效", "The e-credential is not valid.") from exc
    return str(claims["sub"]), str(claims["jti"])
