"""参保证明: the facts an insurance certificate states, signed so that anyone can check them.

The certificate's QR holds a compact JWS (EdDSA, ``kid`` header) signed with the e-credential key set, whose public
keys are published at ``/.well-known/jwks.json``: a counter or an employer checks it offline with any JOSE library
and those keys, or online at the public verification page. Its audience (``cert``) is not the e-credential's
(``c``): a certificate is never accepted at a counter, and an e-credential never verifies as a certificate.

The claims carry exactly what the printed certificate shows (and nothing more): name, masked ID number, insurance
number, division, the year, enrollment date and payment status, the designated pair's names and the year's
benefit use as of the issue date.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from member_api.core.errors import DomainError
from member_api.core.keys import KeyRing, b64url
from member_api.core.tokens import TokenError, sign, verify

AUDIENCE = "cert"
VALID_DAYS = 90  # a certificate states facts of its issue day; a stale one is refused after this
FIELDS = ("name", "id", "no", "div", "year", "enrolled", "paid", "inst", "stn", "used", "cap", "as_of")


def issue(keyring: KeyRing, facts: dict[str, Any], now: datetime) -> tuple[str, str]:
    """(token, certificate number) for these facts (keys of ``FIELDS``)."""
    number = b64url(secrets.token_bytes(9))
    iat = int(now.timestamp())
    claims = {"aud": AUDIENCE, "jti": number, "iat": iat, "exp": iat + VALID_DAYS * 86400, **_only(facts)}
    return sign(keyring.credential, claims), number


def _only(facts: dict[str, Any]) -> dict[str, Any]:
    return {k: facts[k] for k in FIELDS if k in facts}


def read(keyring: KeyRing, token: str, now: datetime) -> dict[str, Any]:
    """The facts of a genuine, unexpired certificate (with ``jti``, ``iat``, ``exp``); 422 otherwise."""
    try:
        claims = verify(
            keyring.credential, token.strip(), audience=AUDIENCE, issuer=None, now=now, required=("exp", "iat", "jti")
        )
    except TokenError as exc:
        expired = exc.code == "token_expired"
        raise DomainError(
            "certificate_expired" if expired else "certificate_invalid",
            "参保证明已过有效期，请参保人重新开具" if expired else "参保证明无法验证：不是本系统签发或内容已被改动",
            "The certificate has expired." if expired else "The certificate is not genuine or was altered.",
        ) from exc
    return {**_only(claims), "jti": claims["jti"], "iat": claims["iat"], "exp": claims["exp"]}
