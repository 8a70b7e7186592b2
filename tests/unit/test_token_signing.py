"""The hand-assembled compact JWS (core/tokens.sign) against PyJWT: the same bytes, and PyJWT verifies it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest

from member_api.core.keys import load_keyring
from member_api.core.tokens import TokenError, sign, verify

CLAIMS = [
    ({"sub": "x" * 43, "jti": "abcDEF123_-x", "exp": 1_900_000_000, "aud": "c"}, {"typ": None}),
    (
        {"iss": "member-api", "aud": "api", "sub": "s12", "role": "clerk", "sid": "q", "iat": 1, "nbf": 1, "exp": 2},
        None,
    ),
    ({"aud": "quote", "sub": "7", "m": 11, "v": ["2026-11-25", 100, None, True], "q": [70, 30, 1, 2]}, None),
]


@pytest.mark.parametrize(("claims", "headers"), CLAIMS)
def test_sign_makes_the_bytes_pyjwt_makes(tmp_path: Path, claims: dict, headers: dict | None) -> None:
    keys = load_keyring(tmp_path).credential
    expected = jwt.encode(claims, keys.private_key, algorithm="EdDSA", headers={"kid": keys.kid, **(headers or {})})
    assert sign(keys, claims, headers) == expected


def test_a_signed_token_verifies_and_a_tampered_one_does_not(tmp_path: Path) -> None:
    keys = load_keyring(tmp_path).access
    token = sign(keys, {"sub": "a1", "aud": "api", "iat": 1, "exp": 4_000_000_000})
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert verify(keys, token, audience="api", issuer=None, now=now)["sub"] == "a1"
    head, body, signature = token.split(".")
    forged = f"{head}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{signature}"
    with pytest.raises(TokenError):
        verify(keys, forged, audience="api", issuer=None, now=now)
