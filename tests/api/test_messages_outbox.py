"""The notice outbox: WeChat subscription messages (against a fake speaking WeChat's JSON), retries with back-off,
dead letters an operator sees and requeues, no notice pushed twice by two drainers; alerts and per-kind choices."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any

import msgspec
import pytest
import pytest_asyncio
from litestar.testing import AsyncTestClient

from member_api.app import create_app
from member_api.core.push import OutgoingNotice
from member_api.db import fetch
from member_api.notices import service as notices
from member_api.notices.service import OutboxPolicy, deliver_pending
from tests.helpers import member_entry, member_headers, staff_headers
from tests.helpers.claims import draft_claim
from tests.helpers.facilities import change_form, codes
from tests.helpers.fake_providers import FakeWechat
from tests.helpers.files import png_bytes


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
        database["settings"],
        wechat_api_base=wechat.url,
        wechat_app_id="wxapp",
        wechat_app_secret="wxsecret",
        wechat_templates="counter=TPL_COUNTER,cap_low=TPL_CAP",
        push_backend="wechat",
        push_interval_s=0,  # the tests drain the outbox themselves
    )
    app = create_app(settings, clock=clock, engine=database["engine"])
    async with AsyncTestClient(app=app) as test_client:
        test_client.world = world
        test_client.settings = settings
        test_client.clock = clock
        test_client.push = app.state.ctx.push
        yield test_client


async def _settle(client: Any, insurance_no: str = "SG0000000001", compliant_fen: int = 4000) -> dict[str, Any]:
    clerk = await staff_headers(client, "clerk_zj_dh")
    response = await client.post(
        "/v1/counter/settlements",
        json={
            "visit_date": "2026-11-24",
            "id_number": member_entry(client, insurance_no)["id_number"],
            "general_fee_fen": 1000,
            "compliant_fen": compliant_fen,
        },
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _wechat_resident(client: Any, wechat: FakeWechat, insurance_no: str = "SG0000000001") -> dict[str, str]:
    """Log in through the mini-program (phone by WeChat's grant) and bind the record."""
    entry = member_entry(client, insurance_no)
    wechat.sessions["login"], wechat.phones["phone"] = f"openid-{insurance_no}", entry["phone"]
    tokens = await client.post("/v1/auth/wechat", json={"code": "login", "phone_code": "phone"})
    assert tokens.status_code == 200, tokens.text
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    bound = await client.post(
        "/v1/me/binding", json={"id_number": entry["id_number"], "name": entry["name"]}, headers=headers
    )
    assert bound.status_code == 200, bound.text
    return headers


async def _states() -> dict[str, int]:
    counts, _ = await notices.outbox()
    return counts


async def test_a_subscribed_resident_gets_one_subscription_message_per_accepted_subscription(
    client: Any, wechat: FakeWechat
) -> None:
    resident = await _wechat_resident(client, wechat)
    accepted = {"results": {"TPL_COUNTER": "accept", "TPL_CAP": "reject", "errMsg": "requestSubscribeMessage:ok"}}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    recorded = await client.post("/v1/me/notices/subscriptions", json=accepted, headers={**resident, **key})
    assert recorded.status_code == 201 and recorded.json() == {"remaining": {"counter": 1}}
    replay = await client.post("/v1/me/notices/subscriptions", json=accepted, headers={**resident, **key})
    assert replay.json() == {"remaining": {"counter": 1}}  # a replayed request does not count twice

    await _settle(client)
    await _settle(client)
    assert await deliver_pending(client.push, client.clock.now()) == 2
    [sent] = wechat.sent
    newest = (await client.get("/v1/me/notices", headers=resident)).json()["items"]
    pushed_id = int(sent["page"].split("id=")[1])
    assert sent["touser"] == "openid-SG0000000001" and sent["template_id"] == "TPL_COUNTER"
    assert sent["page"].startswith("pages/notices/index?id=") and pushed_id in [n["id"] for n in newest]
    assert sent["data"]["thing1"]["value"] == "门诊结算" and len(sent["data"]["thing3"]["value"]) <= 20
    # the second had no subscription left: not pushed, still in the list
    assert await _states() == {"sent": 1, "off": 1}
    assert len(newest) == 2 and all(n["link"].startswith("/app/history/") for n in newest)


async def test_an_outage_is_retried_with_back_off_then_dead_lettered_and_requeued(
    client: Any, wechat: FakeWechat
) -> None:
    resident = await _wechat_resident(client, wechat)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    await client.post(
        "/v1/me/notices/subscriptions", json={"results": {"TPL_COUNTER": "accept"}}, headers={**resident, **key}
    )
    await _settle(client)
    policy = OutboxPolicy(max_attempts=2, backoff_s=30)
    wechat.mode = "down"
    assert await deliver_pending(client.push, client.clock.now(), policy) == 1
    assert await deliver_pending(client.push, client.clock.now(), policy) == 0  # waits for its back-off
    client.clock.advance(31)
    assert await deliver_pending(client.push, client.clock.now(), policy) == 1
    counts, dead = await notices.outbox()
    assert counts == {"dead": 1} and dead[0]["push_error"].startswith("wechat_unavailable")
    # the subscription was given back each time: once WeChat is back, the requeued notice goes out
    wechat.mode = "ok"
    assert await notices.requeue(None) == 1
    assert await deliver_pending(client.push, client.clock.now(), policy) == 1
    assert len(wechat.sent) == 1 and await _states() == {"sent": 1}


async def test_a_notice_not_pushed_in_time_expires_into_the_dead_letters(client: Any) -> None:
    await _settle(client)
    client.clock.advance(4 * 24 * 3600)
    assert await deliver_pending(client.push, client.clock.now()) == 0
    counts, dead = await notices.outbox()
    assert counts == {"dead": 1} and dead[0]["push_error"] == "expired"


class _SlowRecorder:
    def __init__(self) -> None:
        self.sent: list[int] = []

    async def send(self, notice: OutgoingNotice, at: Any) -> None:
        await asyncio.sleep(0.005)
        self.sent.append(notice.id)


async def test_two_drainers_at_once_push_every_notice_exactly_once(client: Any) -> None:
    member = (await fetch("SELECT id FROM member WHERE insurance_no = {}", "SG0000000001"))[0]["id"]
    for n in range(40):
        await notices.notify(member, "counter", f"【韶关医保】测试消息 {n}", client.clock.now())
    recorder = _SlowRecorder()

    async def drain() -> None:
        while await deliver_pending(recorder, client.clock.now(), batch=3):
            pass

    await asyncio.gather(drain(), drain(), drain())
    assert sorted(recorder.sent) == sorted(set(recorder.sent)) and len(recorder.sent) == 40
    assert await _states() == {"sent": 40}


async def test_alerts_cap_low_and_refused_visit_with_what_to_do(client: Any) -> None:
    resident = await member_headers(client, "SG0000000001")
    await _settle(client, compliant_fen=35000)  # fund 245 of the 300 yuan cap: under 20% left
    await _settle(client, compliant_fen=1000)
    items = (await client.get("/v1/me/notices", headers=resident)).json()["items"]
    cap = [n for n in items if n["kind"] == "cap_low"]
    assert len(cap) == 1 and "已低于 20%" in cap[0]["text_zh"] and cap[0]["title"] == "年度额度提醒"

    other = await member_headers(client, "SG0000000002")  # not designated at this facility: paid 0
    await _settle(client, insurance_no="SG0000000002")
    items = (await client.get("/v1/me/notices", headers=other)).json()["items"]
    assert [n["kind"] for n in items] == ["counter", "refused_visit"]
    refused = items[1]
    assert "转诊" in refused["text_zh"] and "急诊" in refused["text_zh"] and refused["link"] == "/app/clinics"


async def test_decisions_and_windows_are_alerted_once_by_the_scan(client: Any) -> None:
    guardian = await member_headers(client, "SG0000000004")
    newborn = (await client.get("/v1/me/dependants", headers=guardian)).json()[0]
    f = client.world["facilities"]
    ids = {
        code: (await fetch("SELECT id FROM facility WHERE code = {}", code))[0]["id"]
        for code in (f["designated_institution"], f["designated_station"])
    }
    institution, station = ids[f["designated_institution"]], ids[f["designated_station"]]
    chosen = await client.put(
        "/v1/me/designation",
        params={"member_id": newborn["id"]},
        headers=guardian,
        json={"institution_id": institution, "station_id": station},
    )
    assert chosen.status_code == 200, chosen.text
    body = {"kind": "newborn", "items": [{"care_date": "2026-10-15", "facility_id": station, "compliant_fen": 2000}]}
    draft = await draft_claim(client, guardian, body, member_id=newborn["id"])
    today = date(2026, 11, 24)
    assert await notices.scan_alerts(client.clock.now(), today) == 0  # the window opens on the 26th
    assert await notices.scan_alerts(client.clock.now(), date(2026, 11, 26)) == 1
    assert await notices.scan_alerts(client.clock.now(), date(2026, 11, 27)) == 0  # once
    # a decided claim (the review itself is tested with the claims): the guardian hears of it
    await fetch(
        "UPDATE claim SET status = 'approved', paid_fen = 1400, decided_at = {} WHERE id = {}",
        client.clock.now(),
        draft["id"],
    )
    assert await notices.scan_alerts(client.clock.now() + timedelta(minutes=1), today) >= 1
    items = (await client.get("/v1/me/notices", headers=guardian)).json()["items"]
    kinds = {n["kind"]: n for n in items}
    assert kinds["newborn_window"]["link"] == f"/app/claims/{draft['id']}"
    assert "已审核通过" in kinds["claim_decided"]["text_zh"] and "14.00" in kinds["claim_decided"]["text_zh"]


async def test_a_kind_turned_off_stays_in_the_list_and_is_not_pushed(client: Any, wechat: FakeWechat) -> None:
    resident = await _wechat_resident(client, wechat)
    prefs = (await client.get("/v1/me/notices/preferences", headers=resident)).json()
    assert all(p["enabled"] for p in prefs) and {p["kind"] for p in prefs if p["money"]} >= {"counter", "cap_low"}
    turned = await client.put("/v1/me/notices/preferences", json={"counter": False}, headers=resident)
    assert turned.status_code == 200
    assert next(p for p in turned.json() if p["kind"] == "counter")["enabled"] is False
    bad = await client.put("/v1/me/notices/preferences", json={"spam": True}, headers=resident)
    assert bad.status_code == 422
    key = {"Idempotency-Key": str(uuid.uuid4())}
    await client.post(
        "/v1/me/notices/subscriptions", json={"results": {"TPL_COUNTER": "accept"}}, headers={**resident, **key}
    )
    await _settle(client)
    assert await deliver_pending(client.push, client.clock.now()) == 0 and wechat.sent == []
    page = (await client.get("/v1/me/notices", headers=resident)).json()
    assert page["unread"] == 1
    opened = await client.get(f"/v1/me/notices/{page['items'][0]['id']}", headers=resident)
    assert opened.status_code == 200 and opened.json()["read"] is True
    assert (await client.get("/v1/me/notices", headers=resident)).json()["unread"] == 0
    assert (await client.get("/v1/me/notices/999999", headers=resident)).status_code == 404


async def test_a_change_request_decided_and_the_new_designation_in_effect_are_alerted(client: Any) -> None:
    ids = await codes(client)
    resident = await member_headers(client, "SG0000000003")
    await client.put(
        "/v1/me/designation", json={"institution_id": ids["wj_inst"], "station_id": ids["wj_station"]}, headers=resident
    )
    filed = await client.post(
        "/v1/me/designation/change-requests",
        data=change_form(ids),
        files=[("evidence", ("lease.png", png_bytes(), "image/png"))],
        headers=resident,
    )
    assert filed.status_code == 201, filed.text
    clerk = await staff_headers(client, "clerk_wj_xh")
    decided = await client.post(
        f"/v1/review/change-requests/{filed.json()['id']}/decision", json={"decision": "approve"}, headers=clerk
    )
    assert decided.json()["effective_from"] == "2026-11-25"
    assert await notices.scan_alerts(client.clock.now(), date(2026, 11, 24)) == 1  # decided; not yet in effect
    client.clock.advance(24 * 3600)
    assert await notices.scan_alerts(client.clock.now(), date(2026, 11, 25)) == 1  # in effect from today
    assert await notices.scan_alerts(client.clock.now(), date(2026, 11, 25)) == 0
    resident = await member_headers(client, "SG0000000003")
    items = (await client.get("/v1/me/notices", headers=resident)).json()["items"]
    assert [n["kind"] for n in items] == ["designation_effective", "change_decided"]
    assert "2026-11-25 起生效" in items[1]["text_zh"] and items[0]["link"] == "/app/clinics"
