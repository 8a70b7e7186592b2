"""SMS senders: Tencent Cloud and Alibaba Cloud through their own SDKs, ``file:`` (one JSON line per message, a
mail catcher for development and tests) and ``none``; an ordered list of them fails over on a provider outage.

A provider's answer is one of three things, and callers act on which: the message was *accepted* (``Sent``, with
the provider's message id for delivery receipts), the provider *refused this number* (``SmsRejected``: throttled,
not a valid number, blocked; another provider would not help and the resident should be told), or the provider
*is not working* (``SmsUnavailable``: network, timeout, 5xx, our account's balance or signature problems; the
next provider is tried). Phones are masked and texts never logged; credentials are never logged.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import anyio

log = logging.getLogger("member_api.sms")

PURPOSES = ("login", "binding", "notice")
"""What a message is for; each provider maps a purpose to one of its approved templates."""


def mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


@dataclass(frozen=True)
class Sent:
    provider: str
    message_id: str


class SmsRejected(Exception):
    """The provider refused this number: ``reason`` is ``throttled``, ``invalid_number`` or ``blocked``."""

    def __init__(self, provider: str, reason: str, provider_code: str) -> None:
        super().__init__(reason)
        self.provider = provider
        self.reason = reason
        self.provider_code = provider_code


class SmsUnavailable(Exception):
    """No provider accepted the message for reasons of its own (outage, slowness, our account)."""

    def __init__(self, provider: str, provider_code: str) -> None:
        super().__init__(provider_code)
        self.provider = provider
        self.provider_code = provider_code


class SmsSender(Protocol):
    name: str

    async def send(self, phone: str, purpose: str, params: dict[str, str], at: datetime) -> Sent: ...


def template_params(purpose: str, params: dict[str, str]) -> list[str]:
    """Positional parameters in the order the templates declare them (login/binding: code, minutes)."""
    if purpose in ("login", "binding"):
        return [params["code"], params.get("minutes", "5")]
    return [params.get("text", "")]


@dataclass(frozen=True)
class ProviderConfig:
    """One provider account: credentials, sign name, a template id per purpose, an optional endpoint."""

    key_id: str
    key_secret: str
    sign_name: str
    templates: dict[str, str]
    endpoint: str = ""
    app_id: str = ""
    region: str = ""
    timeout_s: float = 5.0

    def template(self, purpose: str) -> str:
        template = self.templates.get(purpose)
        if not template:
            raise SmsUnavailable("config", f"no_template_for_{purpose}")
        return template

    def __repr__(self) -> str:  # never show the secret in a traceback or a log line
        return f"ProviderConfig(key_id={self.key_id[:4]}…, sign_name={self.sign_name!r})"


def _split_endpoint(endpoint: str, default_host: str) -> tuple[str, str]:
    """(scheme, host[:port]) from ``https://host`` or ``host``; the SDK's own host when empty."""
    if not endpoint:
        return "https", default_host
    if "://" not in endpoint:
        return "https", endpoint
    parts = urlsplit(endpoint)
    return parts.scheme, parts.netloc


# Tencent Cloud SMS (API 2021-01-11) answer codes, per number in SendStatusSet or for the whole call.
TENCENT_REJECTIONS = {
    "LimitExceeded.PhoneNumberDailyLimit": "throttled",
    "LimitExceeded.PhoneNumberOneHourLimit": "throttled",
    "LimitExceeded.PhoneNumberThirtySecondLimit": "throttled",
    "LimitExceeded.PhoneNumberSameContentDailyLimit": "throttled",
    "LimitExceeded.DeliveryFrequencyLimit": "throttled",
    "InvalidParameterValue.IncorrectPhoneNumber": "invalid_number",
    "FailedOperation.PhoneNumberInBlacklist": "blocked",
    "FailedOperation.PhoneNumberOnBlacklist": "blocked",
}


class TencentSender:
    """Tencent Cloud SMS through ``tencentcloud-sdk-python-sms`` (TC3-HMAC-SHA256 signed JSON POST)."""

    name = "tencent"

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    def _client(self):
        # The provider's SDK is loaded only where this backend is configured (the file backend needs none).
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client_async

        scheme, host = _split_endpoint(self.config.endpoint, "sms.tencentcloudapi.com")
        profile = ClientProfile(
            httpProfile=HttpProfile(endpoint=host, protocol=scheme, reqTimeout=self.config.timeout_s)  # type: ignore[arg-type]
        )
        return sms_client_async.SmsClient(
            credential.Credential(self.config.key_id, self.config.key_secret),
            self.config.region or "ap-guangzhou",
            profile,
        )

    async def send(self, phone: str, purpose: str, params: dict[str, str], at: datetime) -> Sent:
        # Loaded only where this backend is configured, like the client above.
        import httpx
        from tencentcloud.common.exception import TencentCloudSDKException
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{phone}"]
        request.SmsSdkAppId = self.config.app_id
        request.SignName = self.config.sign_name
        request.TemplateId = self.config.template(purpose)
        request.TemplateParamSet = template_params(purpose, params)
        request.SessionContext = purpose
        client = self._client()
        try:
            with anyio.fail_after(self.config.timeout_s + 1):
                response = await client.SendSms(request)
        except TencentCloudSDKException as exc:
            code = str(exc.code or "")
            if code in TENCENT_REJECTIONS:
                raise SmsRejected(self.name, TENCENT_REJECTIONS[code], code) from None
            raise SmsUnavailable(self.name, code or "error") from None
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            raise SmsUnavailable(self.name, type(exc).__name__) from None
        finally:
            await client.close()
        status = (response.SendStatusSet or [None])[0]
        code = str(getattr(status, "Code", "") or "")
        if code == "Ok":
            return Sent(self.name, str(status.SerialNo))  # type: ignore[union-attr]
        if code in TENCENT_REJECTIONS:
            raise SmsRejected(self.name, TENCENT_REJECTIONS[code], code)
        raise SmsUnavailable(self.name, code or "no_status")


# Alibaba Cloud SMS (Dysmsapi 2017-05-25) business codes.
ALIYUN_REJECTIONS = {
    "isv.BUSINESS_LIMIT_CONTROL": "throttled",
    "isv.DAY_LIMIT_CONTROL": "throttled",
    "isv.MOBILE_NUMBER_ILLEGAL": "invalid_number",
    "isv.MOBILE_COUNT_OVER_LIMIT": "invalid_number",
    "isv.BLACK_KEY_CONTROL_LIMIT": "blocked",
    "isv.PHONENUMBER_IN_BLACKLIST": "blocked",
}


class AliyunSender:
    """Alibaba Cloud SMS through ``alibabacloud-dysmsapi20170525`` (RPC-style signed requests)."""

    name = "aliyun"

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    async def send(self, phone: str, purpose: str, params: dict[str, str], at: datetime) -> Sent:
        # The provider's SDK is loaded only where this backend is configured (the file backend needs none).
        from alibabacloud_dysmsapi20170525 import models
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import utils_models
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
        from darabonba.runtime import RuntimeOptions

        scheme, host = _split_endpoint(self.config.endpoint, "dysmsapi.aliyuncs.com")
        client = Client(
            utils_models.Config(
                access_key_id=self.config.key_id,
                access_key_secret=self.config.key_secret,
                endpoint=host,
                protocol=scheme,
                region_id=self.config.region or "cn-hangzhou",
            )
        )
        names = ("code", "minutes") if purpose in ("login", "binding") else ("text",)
        request = models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=self.config.sign_name,
            template_code=self.config.template(purpose),
            template_param=json.dumps(dict(zip(names, template_params(purpose, params), strict=True))),
            out_id=uuid.uuid4().hex,
        )
        timeout_ms = int(self.config.timeout_s * 1000)
        runtime = RuntimeOptions(read_timeout=timeout_ms, connect_timeout=timeout_ms, autoretry=False, max_attempts=1)
        try:
            with anyio.fail_after(self.config.timeout_s * 2 + 1):
                response = await client.send_sms_with_options_async(request, runtime)
        except AlibabaCloudException as exc:
            code = str(getattr(exc, "code", "") or "")
            if code in ALIYUN_REJECTIONS:
                raise SmsRejected(self.name, ALIYUN_REJECTIONS[code], code) from None
            raise SmsUnavailable(self.name, code or "error") from None
        except Exception as exc:  # the SDK surfaces network failures as its transport's own exceptions
            raise SmsUnavailable(self.name, type(exc).__name__) from None
        body = response.body
        code = str(getattr(body, "code", "") or "")
        if code == "OK":
            return Sent(self.name, str(body.biz_id))
        if code in ALIYUN_REJECTIONS:
            raise SmsRejected(self.name, ALIYUN_REJECTIONS[code], code)
        raise SmsUnavailable(self.name, code or "no_code")


class FileSender:
    """Development and tests: one JSON line per message, like a mail catcher."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def _append(self, line: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    async def send(self, phone: str, purpose: str, params: dict[str, str], at: datetime) -> Sent:
        message_id = uuid.uuid4().hex
        record = {"phone": phone, "purpose": purpose, **params, "sent_at": at.isoformat(), "id": message_id}
        await anyio.to_thread.run_sync(self._append, json.dumps(record, ensure_ascii=False) + "\n")
        return Sent(self.name, message_id)


class LogOnlySender:
    """For a deployment without an SMS gateway yet: records that a message went out, never its content."""

    name = "none"

    async def send(self, phone: str, purpose: str, params: dict[str, str], at: datetime) -> Sent:
        log.warning("sms_backend_not_configured")
        return Sent(self.name, "")


@dataclass
class FailoverSender:
    """Providers in order: an outage of one moves on to the next; a rejection of the number ends the try.

    A provider that failed is skipped for ``cooldown_s`` (tried last), so a dead provider does not cost every
    resident its timeout.
    """

    senders: list[SmsSender]
    cooldown_s: float = 60.0
    name: str = "failover"
    _down_until: dict[str, float] = field(default_factory=dict)

    def _order(self) -> list[SmsSender]:
        now = time.monotonic()
        return sorted(self.senders, key=lambda s: self._down_until.get(s.name, 0.0) > now)

    async def send(self, phone: str, purpose: str, params: dict[str, str], at: datetime) -> Sent:
        last: SmsUnavailable | None = None
        for sender in self._order():
            try:
                sent = await sender.send(phone, purpose, params, at)
            except SmsUnavailable as exc:
                self._down_until[sender.name] = time.monotonic() + self.cooldown_s
                log.warning("sms_provider_unavailable", extra={"provider": sender.name, "reason": exc.provider_code})
                last = exc
                continue
            except SmsRejected as exc:
                log.info(
                    "sms_rejected",
                    extra={"provider": sender.name, "reason": exc.provider_code, "phone": mask(phone)},
                )
                raise
            self._down_until.pop(sender.name, None)
            log.info("sms_sent", extra={"provider": sender.name, "purpose": purpose, "phone": mask(phone)})
            return sent
        raise last or SmsUnavailable("none", "no_provider")


def _secret(env: dict[str, str] | os._Environ[str], name: str) -> str:
    """``MEMBER_API_<NAME>`` or the content of the file named by ``MEMBER_API_<NAME>_FILE``."""
    value = env.get(f"MEMBER_API_{name}", "")
    path = env.get(f"MEMBER_API_{name}_FILE", "")
    if not value and path:
        value = Path(path).read_text().strip()
    return value


def provider_config(provider: str, endpoint: str, env: dict[str, str] | None = None) -> ProviderConfig:
    """A provider's account from ``MEMBER_API_SMS_<PROVIDER>_*`` variables (secrets also from ``*_FILE``)."""
    environ = os.environ if env is None else env
    prefix = f"SMS_{provider.upper()}_"
    templates = {}
    for purpose in PURPOSES:
        template = environ.get(f"MEMBER_API_{prefix}TEMPLATE_{purpose.upper()}", "")
        if template:
            templates[purpose] = template
    return ProviderConfig(
        key_id=_secret(environ, prefix + "KEY_ID"),
        key_secret=_secret(environ, prefix + "KEY_SECRET"),
        sign_name=environ.get(f"MEMBER_API_{prefix}SIGN_NAME", ""),
        templates=templates,
        endpoint=endpoint,
        app_id=environ.get(f"MEMBER_API_{prefix}APP_ID", ""),
        region=environ.get(f"MEMBER_API_{prefix}REGION", ""),
        timeout_s=float(environ.get("MEMBER_API_SMS_TIMEOUT_S", "") or 5.0),
    )


def _one(spec: str, env: dict[str, str] | None) -> SmsSender:
    if spec.startswith("file:"):
        return FileSender(Path(spec.removeprefix("file:")))
    if spec == "none":
        return LogOnlySender()
    if spec.startswith("tencent:"):
        return TencentSender(provider_config("tencent", spec.removeprefix("tencent:"), env))
    if spec.startswith("aliyun:"):
        return AliyunSender(provider_config("aliyun", spec.removeprefix("aliyun:"), env))
    raise ValueError("MEMBER_API_SMS_BACKEND: each entry is tencent:[ENDPOINT], aliyun:[ENDPOINT], file:PATH or none")


def make_sender(spec: str, env: dict[str, str] | None = None) -> SmsSender:
    """``tencent:``, ``aliyun:``, ``file:PATH``, ``none``, or a comma-separated list tried in order."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise ValueError("MEMBER_API_SMS_BACKEND is empty")
    senders = [_one(p, env) for p in parts]
    return (
        senders[0]
        if len(senders) == 1 and isinstance(senders[0], (FileSender, LogOnlySender))
        else (FailoverSender(senders))
    )
