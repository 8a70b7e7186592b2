"""Mini-program login: a wx.login code through code2Session (a local fake speaking WeChat's JSON), the phone proven
once (WeChat's phone-number grant or an SMS code), then WeChat alone logs the resident in until they unlink."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import jwt
import msgspec
import pytest
import pytest_asyncio
from litestar.testing import AsyncTestClient

from member_api.app import create_app
from member_api.db import fetch
from tests.helpers.databases import last_sms_code
from tests.helpers.fake_providers import FakeWechat

PHONE = "13900003333"


@pytest.fixture
def wechat() -> Iterator[FakeWechat]:
    fake = FakeWechat()
    yield fake
    fake.close()


@pytest_asyncio.fixture
async def client(
    database: dict[str, Any], world: dict[str, Any], clock: Any, wechat: FakeWechat
) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = msgspec.structs.replace(
        database["settings"], wechat_api_base=wechat.url, wechat_app_id="wxapp", wechat_app_secret="wxsecret"
    )
    async with AsyncTestClient(app=create_app(settings, clock=clock, engine=database["engine"])) as test_client:
        test_client.settings = settings
        yield test_client


def _subject(pair: Any) -> str:
    """The account the tokens are for (the access token's ``sub``)."""
    return str(jwt.decode(pair.json()["access_token"], options={"verify_signature": False})["sub"])


async def _me(client: AsyncTestClient[Any], token: str) -> dict[str, Any]:
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_first_login_proves_the_phone_by_wechat_grant_then_wechat_alone_logs_in(
    client: AsyncTestClient[Any], wechat: FakeWechat
) -> None:
    wechat.sessions["c1"] = "openid-1"
    unlinked = await client.post("/v1/auth/wechat", json={"code": "c1"})
    assert unlinked.status_code == 401 and unlinked.json()["code"] == "wechat_not_linked"

    wechat.sessions["c2"] = "openid-1"
    wechat.phones["p2"] = PHONE
    first = await client.post("/v1/auth/wechat", json={"code": "c2", "phone_code": "p2"})
    assert first.status_code == 200, first.text
    me = await _me(client, first.json()["access_token"])
    assert me["phone_masked"].endswith("3333")

    wechat.sessions["c3"] = "openid-1"
    again = await client.post("/v1/auth/wechat", json={"code": "c3"})
    assert again.status_code == 200
    assert _subject(again) == _subject(first)
    # the same account as an SMS login of that phone
    assert (await client.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202
    sms = await client.post("/v1/auth/login", json={"phone": PHONE, "code": last_sms_code(client.settings, PHONE)})
    assert _subject(sms) == _subject(first)
    events = await fetch("SELECT action FROM audit_event WHERE action LIKE {} ORDER BY id", "wechat%")
    assert [e["action"] for e in events] == ["wechat_link", "wechat_login"]


async def test_the_phone_proven_by_sms_code_links_and_a_wrong_code_does_not(
    client: AsyncTestClient[Any], wechat: FakeWechat
) -> None:
    assert (await client.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202
    code = last_sms_code(client.settings, PHONE)
    wechat.sessions["w1"] = "openid-2"
    wrong = await client.post("/v1/auth/wechat", json={"code": "w1", "phone": PHONE, "sms_code": "000000"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "otp_invalid"
    wechat.sessions["w2"] = "openid-2"
    ok = await client.post("/v1/auth/wechat", json={"code": "w2", "phone": PHONE, "sms_code": code})
    assert ok.status_code == 200, ok.text


async def test_an_account_links_one_wechat_user_until_the_resident_unlinks(
    client: AsyncTestClient[Any], wechat: FakeWechat
) -> None:
    wechat.sessions["a"], wechat.phones["pa"] = "openid-a", PHONE
    first = await client.post("/v1/auth/wechat", json={"code": "a", "phone_code": "pa"})
    token = first.json()["access_token"]
    wechat.sessions["b"], wechat.phones["pb"] = "openid-b", PHONE
    other = await client.post("/v1/auth/wechat", json={"code": "b", "phone_code": "pb"})
    assert other.status_code == 409 and other.json()["code"] == "wechat_already_linked"

    unlink = await client.delete("/v1/auth/wechat", headers={"Authorization": f"Bearer {token}"})
    assert unlink.status_code == 204
    wechat.sessions["a2"] = "openid-a"
    after = await client.post("/v1/auth/wechat", json={"code": "a2"})
    assert after.status_code == 401 and after.json()["code"] == "wechat_not_linked"
    wechat.sessions["b2"], wechat.phones["pb2"] = "openid-b", PHONE
    assert (await client.post("/v1/auth/wechat", json={"code": "b2", "phone_code": "pb2"})).status_code == 200


async def test_wechat_errors_are_clear_answers(client: AsyncTestClient[Any], wechat: FakeWechat) -> None:
    invalid = await client.post("/v1/auth/wechat", json={"code": "never-issued"})  # errcode 40029
    assert invalid.status_code == 401 and invalid.json()["code"] == "wechat_code_invalid"
    wechat.answers["busy-user"] = 45011
    limited = await client.post("/v1/auth/wechat", json={"code": "busy-user"})
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    wechat.mode = "down"
    down = await client.post("/v1/auth/wechat", json={"code": "x"})
    assert down.status_code == 503 and down.json()["code"] == "wechat_unavailable"
    assert "Retry-After" in down.headers


async def test_the_access_token_is_fetched_once_and_refreshed_when_refused(
    client: AsyncTestClient[Any], wechat: FakeWechat
) -> None:
    for n in range(2):
        wechat.sessions[f"t{n}"], wechat.phones[f"tp{n}"] = f"openid-t{n}", f"1390000444{n}"
        assert (await client.post("/v1/auth/wechat", json={"code": f"t{n}", "phone_code": f"tp{n}"})).status_code == 200
    assert wechat.tokens_issued == 1
    wechat.valid_tokens = set()  # WeChat invalidated it (another fetch elsewhere): errcode 40001, fetch again
    wechat.sessions["t9"], wechat.phones["tp9"] = "openid-t9", "13900004449"
    assert (await client.post("/v1/auth/wechat", json={"code": "t9", "phone_code": "tp9"})).status_code == 200
    assert wechat.tokens_issued == 2


async def test_per_client_rate_limit(database: dict[str, Any], world: Any, clock: Any, wechat: FakeWechat) -> None:
    settings = msgspec.structs.replace(
        database["settings"],
        wechat_api_base=wechat.url,
        wechat_app_id="wxapp",
        wechat_app_secret="wxsecret",
        wechat_logins_per_client_per_hour=2,
    )
    async with AsyncTestClient(app=create_app(settings, clock=clock, engine=database["engine"])) as limited:
        for _ in range(2):
            assert (await limited.post("/v1/auth/wechat", json={"code": "x"})).status_code == 401
        assert (await limited.post("/v1/auth/wechat", json={"code": "x"})).status_code == 429


async def test_a_deployment_without_a_mini_program_says_so(database: dict[str, Any], world: Any, clock: Any) -> None:
    async with AsyncTestClient(app=create_app(database["settings"], clock=clock, engine=database["engine"])) as plain:
        answer = await plain.post("/v1/auth/wechat", json={"code": "x"})
    assert answer.status_code == 404 and answer.json()["code"] == "wechat_not_configured"
