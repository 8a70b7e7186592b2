"""Login codes through Tencent Cloud SMS and Alibaba Cloud SMS (their SDKs against local fakes speaking their APIs):
provider refusals reach the resident as 4xx, outages fail over or answer 503, nothing personal is logged."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import pytest
import pytest_asyncio
from litestar.testing import AsyncTestClient

from member_api.app import create_app
from tests.helpers.fake_providers import FakeAliyunSms, FakeTencentSms

PHONE = "13900001111"


@pytest.fixture
def tencent() -> AsyncIterator[FakeTencentSms]:
    fake = FakeTencentSms()
    yield fake
    fake.close()


@pytest.fixture
def aliyun() -> AsyncIterator[FakeAliyunSms]:
    fake = FakeAliyunSms()
    yield fake
    fake.close()


@pytest.fixture(autouse=True)
def provider_accounts(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    secret = tmp_path / "tencent-secret"
    secret.write_text("tencent-secret-key\n")
    for name, value in {
        "SMS_TENCENT_KEY_ID": "AKIDfake",
        "SMS_TENCENT_KEY_SECRET_FILE": str(secret),
        "SMS_TENCENT_APP_ID": "1400000001",
        "SMS_TENCENT_SIGN_NAME": "韶关医保",
        "SMS_TENCENT_TEMPLATE_LOGIN": "2001",
        "SMS_ALIYUN_KEY_ID": "LTAIfake",
        "SMS_ALIYUN_KEY_SECRET": "aliyun-secret",
        "SMS_ALIYUN_SIGN_NAME": "韶关医保",
        "SMS_ALIYUN_TEMPLATE_LOGIN": "SMS_300001",
        "SMS_TIMEOUT_S": "1",
    }.items():
        monkeypatch.setenv(f"MEMBER_API_{name}", value)


@pytest_asyncio.fixture
async def app_with(database: dict[str, Any], world: dict[str, Any], clock: Any) -> AsyncIterator[Callable[..., Any]]:
    clients: list[AsyncTestClient[Any]] = []

    async def make(**overrides: Any) -> AsyncTestClient[Any]:
        settings = msgspec.structs.replace(database["settings"], **overrides)
        client = AsyncTestClient(app=create_app(settings, clock=clock, engine=database["engine"]))
        await client.__aenter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.__aexit__(None, None, None)


async def _login(client: AsyncTestClient[Any], phone: str, code: str) -> int:
    response = await client.post("/v1/auth/login", json={"phone": phone, "code": code})
    return response.status_code


async def test_tencent_sends_the_code_with_template_and_sign_and_it_logs_in(app_with: Any, tencent: Any) -> None:
    client = await app_with(sms_backend=f"tencent:{tencent.url}")
    response = await client.post("/v1/auth/otp", json={"phone": PHONE})
    assert response.status_code == 202, response.text
    [sent] = tencent.requests
    assert sent["PhoneNumberSet"] == ["+8613900001111"]
    assert (sent["SmsSdkAppId"], sent["SignName"], sent["TemplateId"]) == ("1400000001", "韶关医保", "2001")
    code, minutes = sent["TemplateParamSet"]
    assert minutes == "5" and len(code) == 6
    assert await _login(client, PHONE, code) == 200


async def test_aliyun_sends_the_code_and_it_logs_in(app_with: Any, aliyun: Any) -> None:
    client = await app_with(sms_backend=f"aliyun:{aliyun.url}")
    assert (await client.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202
    [sent] = aliyun.requests
    assert (sent["PhoneNumbers"], sent["SignName"], sent["TemplateCode"]) == (PHONE, "韶关医保", "SMS_300001")
    code = msgspec.json.decode(sent["TemplateParam"])["code"]
    assert await _login(client, PHONE, code) == 200


@pytest.mark.parametrize(
    ("provider", "answer", "reason"),
    [
        ("tencent", "LimitExceeded.PhoneNumberDailyLimit", "throttled"),
        ("tencent", "InvalidParameterValue.IncorrectPhoneNumber", "invalid_number"),
        ("aliyun", "isv.BUSINESS_LIMIT_CONTROL", "throttled"),
        ("aliyun", "isv.MOBILE_NUMBER_ILLEGAL", "invalid_number"),
    ],
)
async def test_a_refused_number_is_a_4xx_with_the_reason_and_no_code_is_stored(
    app_with: Any, tencent: Any, aliyun: Any, provider: str, answer: str, reason: str
) -> None:
    fake = tencent if provider == "tencent" else aliyun
    fake.answers[PHONE] = answer
    # a refusal is about the number: the next provider is not asked
    other = aliyun if provider == "tencent" else tencent
    client = await app_with(
        sms_backend=f"{provider}:{fake.url},{'aliyun' if provider == 'tencent' else 'tencent'}:{other.url}"
    )
    response = await client.post("/v1/auth/otp", json={"phone": PHONE})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "sms_rejected" and body["extra"]["reason"] == reason
    assert body["message_zh"] and body["message_en"]
    assert other.requests == []
    # no code was stored, and the refused send did not use up the one-per-minute limit
    assert await _login(client, PHONE, "000000") == 401
    fake.answers.clear()
    assert (await client.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202


async def test_an_outage_fails_over_to_the_next_provider(app_with: Any, tencent: Any, aliyun: Any) -> None:
    tencent.mode = "down"
    client = await app_with(sms_backend=f"tencent:{tencent.url},aliyun:{aliyun.url}")
    assert (await client.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202
    assert len(aliyun.requests) == 1
    code = msgspec.json.decode(aliyun.requests[0]["TemplateParam"])["code"]
    assert await _login(client, PHONE, code) == 200


async def test_a_slow_provider_times_out_and_the_next_one_sends(app_with: Any, tencent: Any, aliyun: Any) -> None:
    aliyun.mode, aliyun.delay_s = "slow", 5.0
    client = await app_with(sms_backend=f"aliyun:{aliyun.url},tencent:{tencent.url}")
    assert (await client.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202
    assert len(tencent.requests) == 1


async def test_provider_errors_of_our_account_fail_over(app_with: Any, tencent: Any, aliyun: Any) -> None:
    tencent.answers[PHONE] = "FailedOperation.InsufficientBalanceInSmsPackage"
    aliyun.answers[PHONE] = "isp.SYSTEM_ERROR"
    client = await app_with(sms_backend=f"tencent:{tencent.url},aliyun:{aliyun.url}")
    response = await client.post("/v1/auth/otp", json={"phone": PHONE})
    assert response.status_code == 503
    assert response.json()["code"] == "sms_unavailable"


async def test_all_providers_down_is_503_with_retry_after_and_the_resident_may_retry(
    app_with: Any, tencent: Any, aliyun: Any, caplog: pytest.LogCaptureFixture
) -> None:
    tencent.mode = aliyun.mode = "down"
    client = await app_with(sms_backend=f"tencent:{tencent.url},aliyun:{aliyun.url}")
    with caplog.at_level(logging.INFO):
        response = await client.post("/v1/auth/otp", json={"phone": PHONE})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json()["code"] == "sms_unavailable"
    tencent.mode = "ok"
    assert (await client.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202
    # phones masked, codes and secrets never in the logs
    code = tencent.requests[-1]["TemplateParamSet"][0]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert PHONE not in logged and "tencent-secret-key" not in logged and "aliyun-secret" not in logged
    assert code not in logged


async def test_delivery_receipts_pushed_by_the_providers_are_recorded(app_with: Any, tencent: Any, aliyun: Any) -> None:
    from member_api.auth.service import sms_status

    client = await app_with(sms_backend=f"aliyun:{aliyun.url},tencent:{tencent.url}", sms_receipt_token="t0ken")
    assert (await client.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202
    biz_id = "unknown"
    # the fake's BizId is in its answer only: read it back from what the server stored
    from member_api.db import fetch_one

    row = await fetch_one("SELECT message_id FROM sms_message WHERE provider = {}", "aliyun")
    assert row is not None
    biz_id = row["message_id"]
    receipt = [
        {
            "phone_number": PHONE,
            "send_time": "2026-11-24 10:00:00",
            "report_time": "2026-11-24 10:00:05",
            "success": True,
            "err_code": "DELIVERED",
            "err_msg": "用户接收成功",
            "sms_size": "1",
            "biz_id": biz_id,
            "out_id": "x",
        }
    ]
    refused = await client.post("/v1/sms/receipts/aliyun?token=wrong", json=receipt)
    assert refused.status_code == 404
    accepted = await client.post("/v1/sms/receipts/aliyun?token=t0ken", json=receipt)
    assert accepted.status_code == 200 and accepted.json() == {"code": 0, "msg": "成功"}
    assert await sms_status("aliyun", biz_id) == "delivered"

    aliyun.mode = "down"  # the next code goes through Tencent
    tencent_client = client
    assert (await tencent_client.post("/v1/auth/otp", json={"phone": "13900002222"})).status_code == 202
    row = await fetch_one("SELECT message_id FROM sms_message WHERE provider = {}", "tencent")
    assert row is not None
    callback = [
        {
            "user_receive_time": "2026-11-24 10:00:03",
            "nationcode": "86",
            "mobile": "13900002222",
            "report_status": "FAIL",
            "errmsg": "MK:0001",
            "description": "用户短信接收失败",
            "sid": row["message_id"],
        }
    ]
    answer = await tencent_client.post("/v1/sms/receipts/tencent?token=t0ken", json=callback)
    assert answer.json() == {"result": 0, "errmsg": "OK"}
    assert await sms_status("tencent", row["message_id"]) == "failed"
