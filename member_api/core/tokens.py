"""EdDSA JWT signing and verification for every token the service signs (access tokens, e-credentials)."""

from __future__ import annotations

import base64
from collections.abc import MutableMapping
from datetime import datetime
from functools import lru_cache
from typing import Any

import jwt
import msgspec

from member_api.core.keys import KeySet

ALGORITHMS = ["EdDSA"]  # pinned on every decode; no HS* beside it


class TokenError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def sign(keys: KeySet, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
    """A compact JWS, byte for byte what ``jwt.encode`` makes of ASCII claims (header keys sorted, ``typ`` JWT
    unless None; other text is UTF-8 where PyJWT escapes it, equally valid).

    Written out because PyJWT rebuilds and re-encodes the same header for every token, a quarter of an
    e-credential's cost beside the Ed25519 signature; verification stays with PyJWT.
    """
    header = {"alg": "EdDSA", "typ": "JWT", "kid": keys.kid, **(headers or {})}
    signing_input = (
        _header_segment(tuple(sorted((k, v) for k, v in header.items() if v is not None)))
        + b"."
        + _b64(msgspec.json.encode(claims))
    )
    return (signing_input + b"." + _b64(keys.private_key.sign(signing_input))).decode()


@lru_cache(maxsize=64)
def _header_segment(items: tuple[tuple[str, Any], ...]) -> bytes:
    return _b64(msgspec.json.encode(dict(items)))


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def verify(
    keys: KeySet,
    token: str,
    *,
    audience: str,
    issuer: str | None,
    now: datetime,
    required: tuple[str, ...] = ("exp", "iat", "sub"),
    cache: MutableMapping[str, tuple[str, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Verify signature (by ``kid``), algorithm, audience, issuer and times against the injected clock.

    With ``cache``, a token whose signature already verified skips the Ed25519 check (a fifth of a
    request's CPU); the time checks and the check that its key is still in ``keys`` (not withdrawn) run on
    every call. Entries are keyed by the token alone, so a cache serves one set of ``audience``/``issuer``/
    ``required`` (the access-token check) and no other.
    """
    hit = cache.get(token) if cache is not None else None
    if hit is not None and hit[0] in keys.public_keys:
        claims = hit[1]
    else:
        kid, claims = _verified_claims(keys, token, audience=audience, issuer=issuer, required=required)
        if cache is not None:
            cache[token] = (kid, claims)
    ts = now.timestamp()
    if not isinstance(claims.get("exp"), int | float) or ts >= claims["exp"]:
        raise TokenError("token_expired")
    if isinstance(claims.get("nbf"), int | float) and ts < claims["nbf"]:
        raise TokenError("token_not_yet_valid")
    if isinstance(claims.get("iat"), int | float) and claims["iat"] > ts + 30:
        raise TokenError("token_not_yet_valid")
    return claims


def _verified_claims(
    keys: KeySet, token: str, *, audience: str, issuer: str | None, required: tuple[str, ...]
) -> tuple[str, dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenError("token_malformed") from exc
    kid = str(header.get("kid", ""))
    key = keys.public_keys.get(kid)
    if key is None or header.get("alg") != "EdDSA":
        raise TokenError("token_invalid")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=audience,
            issuer=issuer,
            options={"require": list(required), "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise TokenError("token_invalid") from exc
    return kid, claims
