"""SMS failover (issue 30): an outage moves on to the next provider and pushes the failed one to the back for a
while; a refusal of the number ends the try; secrets never show in a config's repr."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from member_api.core.sms import FailoverSender, ProviderConfig, Sent, SmsRejected, SmsUnavailable, make_sender

AT = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


class Stub:
    def __init__(self, name: str, answer: Exception | None = None) -> None:
        self.name = name
        self.answer = answer
        self.calls = 0

    async def send(self, phone: str, purpose: str, params: dict[str, str], at: datetime) -> Sent:
        self.calls += 1
        if self.answer is not None:
            raise self.answer
        return Sent(self.name, f"{self.name}-{self.calls}")


def send(sender: FailoverSender) -> Sent:
    return asyncio.run(sender.send("13800000001", "login", {"code": "123456"}, AT))


def test_an_outage_fails_over_and_the_failed_provider_is_tried_last_for_a_while() -> None:
    first, second = Stub("tencent", SmsUnavailable("tencent", "InternalError")), Stub("aliyun")
    sender = FailoverSender([first, second])
    assert send(sender).provider == "aliyun"
    assert send(sender).provider == "aliyun" and first.calls == 1  # cooling down: not asked first
    first.answer = None
    sender.cooldown_s = 0
    sender._down_until.clear()
    assert send(sender).provider == "tencent"


def test_a_refused_number_is_not_sent_elsewhere() -> None:
    first, second = (
        Stub("tencent", SmsRejected("tencent", "throttled", "LimitExceeded.PhoneNumberDailyLimit")),
        Stub("aliyun"),
    )
    with pytest.raises(SmsRejected) as refused:
        send(FailoverSender([first, second]))
    assert refused.value.reason == "throttled" and second.calls == 0


def test_every_provider_down_is_unavailable() -> None:
    with pytest.raises(SmsUnavailable):
        send(FailoverSender([Stub("a", SmsUnavailable("a", "x")), Stub("b", SmsUnavailable("b", "y"))]))


def test_backend_specs() -> None:
    env = {"MEMBER_API_SMS_TENCENT_KEY_SECRET": "s3cret", "MEMBER_API_SMS_TENCENT_TEMPLATE_LOGIN": "1"}
    sender = make_sender("tencent:http://127.0.0.1:9,aliyun:", env)
    assert isinstance(sender, FailoverSender) and [s.name for s in sender.senders] == ["tencent", "aliyun"]
    config = sender.senders[0].config  # type: ignore[attr-defined]
    assert config.templates == {"login": "1"} and "s3cret" not in repr(config)
    with pytest.raises(ValueError):
        make_sender("smtp:")
    assert isinstance(ProviderConfig("id", "k", "sign", {}), ProviderConfig)
