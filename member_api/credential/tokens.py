"""The e-credential: a compact EdDSA JWT (credential key set) with a sealed subject and a single-use ``jti``.

Anyone who sees the QR code can read it, so it carries nothing personal and nothing that links two codes of
one member: ``sub`` is the member id sealed with AES-SIV under the server's subject key together with 8
fresh random bytes, so every credential has a different, unguessable ``sub``, and the server opens it back
into the member id without any table that grows per credential.
"""

from __future__ import annotations

import base64
import secrets
import struct
from datetime import datetime

from cryptography.exceptions import InvalidTag

from member_api.core.errors import DomainError
from member_api.core.keys import KeyRing, b64url
from member_api.core.tokens import TokenError, sign, verify

AUDIENCE = "c"  # one letter: every byte of the token enlarges the QR code
SUBJECT_CONTEXT = [b"member-api credential subject v1"]


def seal_subject(keyring: KeyRing, member_id: int, nonce: bytes | None = None) -> str:
    """32 bytes (43 characters): the SIV tag and the encrypted random bytes (8, fresh) and member id."""
    plain = (nonce or secrets.token_bytes(8)) + struct.pack(">Q", member_id)
    return b64url(keyring.subject_cipher.encrypt(plain, SUBJECT_CONTEXT))


def open_subject(keyring: KeyRing, subject: str) -> int | None:
    try:
        sealed = _b64decode(subject)
        plain = keyring.subject_cipher.decrypt(sealed, SUBJECT_CONTEXT)
    except (InvalidTag, ValueError):
        return None
    if len(plain) != 16:
        return None
    return int(struct.unpack(">Q", plain[8:])[0])


def _b64decode(text: str) -> bytes:
    if len(text) > 64 or not text.isascii():
        raise ValueError("subject too long")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(keyring: KeyRing, member_id: int, now: datetime, ttl_s: int) -> tuple[str, int]:
    exp = int(now.timestamp()) + ttl_s
    fresh = secrets.token_bytes(17)  # one draw: 8 bytes seal the subject, 9 make the jti
    claims = {"sub": seal_subject(keyring, member_id, fresh[:8]), "jti": b64url(fresh[8:]), "exp": exp, "aud": AUDIENCE}
    return sign(keyring.credential, claims, headers={"typ": None}), exp


def _invalid() -> DomainError:
    return DomainError("credential_invalid", "医保电子凭证无效", "The e-credential is not valid.")


def read(keyring: KeyRing, token: str, now: datetime) -> tuple[int, str]:
    """(member id, jti) of a valid credential; 401 ``credential_expired`` or ``credential_invalid`` otherwise."""
    try:
        claims = verify(
            keyring.credential, token.strip(), audience=AUDIENCE, issuer=None, now=now, required=("exp", "sub", "jti")
        )
    except TokenError as exc:
        if exc.code == "token_expired":
            raise DomainError(
                "credential_expired",
                "医保电子凭证已过期，请刷新二维码",
                "The e-credential has expired; refresh the QR code.",
            ) from exc
        raise _invalid() from exc
    member_id = open_subject(keyring, str(claims["sub"]))
    if member_id is None:
        raise _invalid()
    return member_id, str(claims["jti"])
