"""Message signatures (``signtype`` / ``cainfo``): SM2 with SM3 when a facility's credential has a public key.

The national texts recommend SM2/SM3. This uses ``gmssl`` (PyPI, pure Python: SM2 signatures over SM3 with the
standard's default user id ``1234567812345678``). A credential issued with ``--sm2-public-key`` must sign every
message; one without relies on the credential over TLS, and any ``cainfo`` it sends is ignored.

What is signed (the envelope has no canonical byte form, so one is defined): the UTF-8 text
``infno=..&msgid=..&fixmedins_code=..&opter=..&inf_time=..&sign_no=..&input=<input>`` where ``<input>`` is the
``input`` node as compact JSON, keys sorted, non-ASCII characters kept, numbers exactly as written. ``cainfo`` is
the 64-byte signature ``r || s`` in base64 (a DER-encoded signature is accepted too).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from decimal import Decimal
from typing import Any

from gmssl import sm2

from member_api.fsi.envelope import Refusal
from member_api.fsi.schemas import Envelope

HEADER_FIELDS = ("infno", "msgid", "fixmedins_code", "opter", "inf_time", "sign_no")


def _canonical(value: Any) -> str:
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{_canonical(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):  # not produced by this service's parser; kept for callers building messages
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def signed_text(message: dict[str, Any]) -> bytes:
    """The bytes a facility signs for this envelope (a dict of its fields, ``input`` included)."""
    parts = [f"{name}={message.get(name, '') or ''}" for name in HEADER_FIELDS]
    parts.append(f"input={_canonical(message.get('input') or {})}")
    return "&".join(parts).encode()


def _as_dict(envelope: Envelope) -> dict[str, Any]:
    return {**{name: getattr(envelope, name) for name in HEADER_FIELDS}, "input": envelope.input}


def _raw_signature(cainfo: str) -> str:
    """The signature as gmssl's 128 hex characters (r || s), from base64 of r || s or of DER."""
    blob = base64.b64decode(cainfo, validate=True)
    if len(blob) == 64:
        return blob.hex()
    if len(blob) > 64 and blob[0] == 0x30:  # DER: SEQUENCE { INTEGER r, INTEGER s }
        at = 2
        values = []
        for _ in range(2):
            if blob[at] != 0x02:
                raise ValueError("not DER")
            length = blob[at + 1]
            values.append(int.from_bytes(blob[at + 2 : at + 2 + length], "big"))
            at += 2 + length
        return f"{values[0]:064x}{values[1]:064x}"
    raise ValueError("signature length")


def _bad_signature(zh: str, en: str) -> Refusal:
    return Refusal("signature_invalid", f"报文签名校验失败：{zh}", f"Message signature check failed: {en}.", "cainfo")


def check(public_key: str, envelope: Envelope, raw: bytes) -> None:
    """Refuse a message of a signing credential whose ``cainfo`` does not verify; others pass."""
    del raw
    if not public_key:
        return
    if envelope.signtype.upper() != "SM2" or not envelope.cainfo:
        raise _bad_signature("须使用 signtype=SM2 并提供 cainfo", "signtype SM2 and cainfo are required")
    try:
        signature = _raw_signature(envelope.cainfo)
        ok = sm2.CryptSM2(private_key=None, public_key=public_key).verify_with_sm3(
            signature, signed_text(_as_dict(envelope))
        )
    except (ValueError, IndexError, binascii.Error, TypeError):
        ok = False
    if not ok:
        raise _bad_signature("签名与报文不符", "the signature does not match the message")


def sign(private_key: str, public_key: str, message: dict[str, Any]) -> str:
    """``cainfo`` for a message (the simulator and tests; a facility system signs with its own tooling)."""
    crypt = sm2.CryptSM2(private_key=private_key, public_key=public_key)
    signature = crypt.sign_with_sm3(signed_text(message), secrets.token_hex(32))
    return base64.b64encode(bytes.fromhex(signature)).decode()


def new_key_pair() -> tuple[str, str]:
    """(private, public) hex: for tests and demos."""
    from gmssl import func  # key generation is for tests and demos only

    private = func.random_hex(64)
    crypt = sm2.CryptSM2(private_key=private, public_key="")
    public = crypt._kg(int(private, 16), sm2.default_ecc_table["g"])
    return private, public
