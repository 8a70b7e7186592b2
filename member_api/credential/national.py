"""R8: the national medical insurance e-credential (医保电子凭证), resolved by the national decoding service.

A resident may show the national e-credential from WeChat or Alipay instead of member-api's own QR code. Its
code means nothing here until the national platform's decoding service (``transType`` ``ec.query``) says whose it
is; the answer's ID number is then matched to the registry like a typed ID number. The adapter speaks that
service's documented HTTP shape (a JSON POST of ``{"data": {...}, "orgId", "transType": "ec.query"}`` answered by
``{"code": 0, "message", "data": {"idNo", "idType", "userName", "ecToken", "insuOrg", ...}}``, ``data`` possibly a
JSON string) with the gateway's headers (``x-tif-paasid``, ``x-tif-timestamp``, ``x-tif-nonce``,
``x-tif-signature``). URL, credentials, business type and timeout are settings; when the service does not answer
in time, or answers garbage, the caller gets a clear 503 ``national_credential_unavailable`` (retry, or take the
ID card), never a 500.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

import httpx
import msgspec

from member_api.core.context import AppContext
from member_api.core.errors import DomainError

JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
ID_SHAPE = re.compile(r"^\d{17}[\dXx]$")
NATIONAL_SHAPE = re.compile(r"^[A-Za-z0-9:_\-+/=.]{8,256}$")
"""What a national e-credential code may look like (alphanumeric, at most 256 characters)."""
TRANS_TYPE = "ec.query"
CODE_OK = 0


class NationalIdentity(msgspec.Struct, kw_only=True, frozen=True):
    """Whom the national code names: the ID number goes to the registry look-up and nowhere else (never logged)."""

    id_number: str
    id_type: str
    name: str
    ec_token: str
    insu_org: str


def is_own_token(value: str) -> bool:
    """member-api's own e-credential: a compact JWT (three dot-separated base64url parts)."""
    return bool(JWT_SHAPE.match(value))


def unavailable(detail: str) -> DomainError:
    return DomainError(
        "national_credential_unavailable",
        "医保电子凭证解码服务暂不可用，请稍后重试或改用身份证/社保卡",
        f"The national e-credential decoding service is unavailable ({detail}); retry, or use the ID card.",
        headers={"Retry-After": "5"},
    )


def invalid_national() -> DomainError:
    return DomainError(
        "credential_invalid",
        "医保电子凭证无效，请让参保人刷新后重新出示",
        "The national e-credential is not valid.",
    )


def gateway_headers(paas_id: str, paas_token: str, now_s: int, nonce: str | None = None) -> dict[str, str]:
    """The national gateway's request signature: SHA-256 hex of timestamp + token + nonce + timestamp."""
    nonce = nonce or secrets.token_hex(8)
    stamp = str(now_s)
    signature = hashlib.sha256(f"{stamp}{paas_token}{nonce}{stamp}".encode()).hexdigest()
    return {
        "x-tif-paasid": paas_id,
        "x-tif-timestamp": stamp,
        "x-tif-nonce": nonce,
        "x-tif-signature": signature,
    }


def _data(body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, str):  # some gateways send the data node as a JSON string
        data = msgspec.json.decode(data.encode())
    if not isinstance(data, dict):
        raise ValueError("no data node")
    return data


async def decode(
    ctx: AppContext, code: str, org_id: str, operator_id: str = "", operator_name: str = ""
) -> NationalIdentity:
    """Ask the decoding service whose national e-credential ``code`` is (``org_id``: the facility's national code)."""
    settings = ctx.settings
    if not settings.national_ec_url:
        raise unavailable("not configured")
    if not NATIONAL_SHAPE.match(code):
        raise invalid_national()
    payload = {
        "data": {
            "businessType": settings.national_ec_business_type,
            "ecQrCode": code,
            "orgId": org_id,
            "operatorId": operator_id[:30],
            "operatorName": operator_name[:50],
            "officeId": "",
            "officeName": "",
        },
        "orgId": org_id,
        "transType": TRANS_TYPE,
    }
    headers = gateway_headers(
        settings.national_ec_paas_id, settings.national_ec_paas_token, int(ctx.clock.now().timestamp())
    )
    try:
        async with httpx.AsyncClient(timeout=settings.national_ec_timeout_s) as client:
            answer = await client.post(settings.national_ec_url, json=payload, headers=headers)
    except httpx.HTTPError as exc:
        raise unavailable(type(exc).__name__) from exc
    if answer.status_code >= 500 or answer.status_code in (401, 403, 429):
        raise unavailable(f"HTTP {answer.status_code}")
    try:
        body = answer.json()
    except ValueError as exc:
        raise unavailable("not JSON") from exc
    if not isinstance(body, dict) or "code" not in body:
        raise unavailable("unexpected answer")
    if str(body["code"]) != str(CODE_OK):
        raise invalid_national()
    try:
        data = _data(body)
        id_number = str(data["idNo"]).strip().upper()
    except (ValueError, KeyError, msgspec.DecodeError) as exc:
        raise unavailable("unexpected answer") from exc
    return NationalIdentity(
        id_number=id_number,
        id_type=str(data.get("idType") or "01"),
        name=str(data.get("userName") or ""),
        ec_token=str(data.get("ecToken") or ""),
        insu_org=str(data.get("insuOrg") or ""),
    )
