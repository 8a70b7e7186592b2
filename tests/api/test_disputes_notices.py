"""P2 disputes through to a confirmed reversal or a rejection; notices for every movement (P1/P2, R11)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path

from member_api.core.push import FilePushSender
from member_api.notices.service import deliver_pending
from tests.helpers import member_entry, member_headers, staff_headers
from tests.helpers.files import png_bytes
from tests.helpers.problems import assert_problem


async def _settle(client, compliant_fen=4000, insurance_no="SG0000000001") -> dict:
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
    return response.json()


async def _dispute(client, member, settlement_id, reason="not_me", photo=True):
    fields = {"settlement_id": str(settlement_id), "reason": reason, "text": "那天我不在韶关"}
    parts = [(name, (None, value)) for name, value in fields.items()]  # multipart, as a browser's FormData sends
    if photo:
        parts.append(("photo", ("p.png", png_bytes(), "image/png")))
    return await client.post("/v1/me/disputes", files=parts, headers=member)


async def test_p2_confirmed_dispute_reverses_the_settlement_and_restores_the_cap(client):
    settled = await _settle(client)
    member = await member_headers(client)
    before = (await client.get("/v1/me/benefits", headers=member)).json()
    filed = await _dispute(client, member, settled["id"])
    assert filed.status_code == 201 and filed.json()["status"] == "open" and filed.json()["has_photo"]
    assert_problem(await _dispute(client, member, settled["id"], photo=False), 409, "dispute_exists")

    reviewer = await staff_headers(client, "reviewer_agency")
    other = await staff_headers(client, "reviewer_agency_2")
    queue = (await client.get("/v1/review/disputes", headers=reviewer)).json()
    assert [d["id"] for d in queue] == [filed.json()["id"]]
    photo = await client.get(f"/v1/review/disputes/{filed.json()['id']}/photo", headers=reviewer)
    assert photo.content == png_bytes() and photo.headers["content-disposition"].startswith("attachment")
    dispute_url = f"/v1/review/disputes/{filed.json()['id']}"
    assert (await client.post(f"{dispute_url}/take", headers=reviewer)).json()["status"] == "in_review"
    confirm = {"decision": "confirm", "reason": "机构核实为冒名就诊"}
    assert_problem(await client.post(f"{dispute_url}/decision", json=confirm, headers=other), 409)
    decided = (await client.post(f"{dispute_url}/decision", json=confirm, headers=reviewer)).json()
    assert decided["status"] == "confirmed" and decided["reversal_id"]

    after = (await client.get("/v1/me/benefits", headers=member)).json()
    assert after["used_fen"] == before["used_fen"] - settled["fund_fen"]
    detail = (await client.get(f"/v1/me/settlements/{settled['id']}", headers=member)).json()
    assert detail["reversed_by"] == decided["reversal_id"]
    kinds = [n["kind"] for n in (await client.get("/v1/me/notices", headers=member)).json()["items"]]
    assert kinds[:3] == ["dispute_confirmed", "reversal", "counter"]


async def test_p2_confirming_a_dispute_keeps_a_reversal_the_counter_made_meanwhile(client):
    """The settlement is undone once: the dispute records the counter's reversal, the cap is restored once."""
    settled = await _settle(client)
    member = await member_headers(client)
    before = (await client.get("/v1/me/benefits", headers=member)).json()
    filed = (await _dispute(client, member, settled["id"], photo=False)).json()
    clerk = await staff_headers(client, "clerk_zj_dh")
    reversal = await client.post(
        f"/v1/counter/settlements/{settled['id']}/reversal",
        json={"reason": "重复录入"},
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert reversal.status_code == 201, reversal.text
    reviewer = await staff_headers(client, "reviewer_agency")
    dispute_url = f"/v1/review/disputes/{filed['id']}"
    await client.post(f"{dispute_url}/take", headers=reviewer)
    confirm = {"decision": "confirm", "reason": "机构核实为冒名就诊"}
    decided = await client.post(f"{dispute_url}/decision", json=confirm, headers=reviewer)
    assert decided.status_code == 200, decided.text
    assert decided.json()["reversal_id"] == reversal.json()["id"]
    after = (await client.get("/v1/me/benefits", headers=member)).json()
    assert after["used_fen"] == before["used_fen"] - settled["fund_fen"]


async def test_p2_rejected_dispute_tells_the_member_why_and_the_window_closes(client):
    settled = await _settle(client)
    member = await member_headers(client)
    filed = (await _dispute(client, member, settled["id"], reason="wrong_amount", photo=False)).json()
    reviewer = await staff_headers(client, "reviewer_agency")
    await client.post(f"/v1/review/disputes/{filed['id']}/take", headers=reviewer)
    rejected = await client.post(
        f"/v1/review/disputes/{filed['id']}/decision",
        json={"decision": "reject", "reason": "票据与结算一致"},
        headers=reviewer,
    )
    assert rejected.json()["status"] == "rejected" and rejected.json()["reversal_id"] is None
    mine = (await client.get(f"/v1/me/disputes/{filed['id']}", headers=member)).json()
    assert mine["decision_reason"] == "票据与结算一致"
    notices = (await client.get("/v1/me/notices", headers=member)).json()
    assert "票据与结算一致" in notices["items"][0]["text_zh"]

    client.clock.at = client.clock.now() + timedelta(days=91)  # P2 window (90 days) has passed
    member = await member_headers(client)
    assert_problem(await _dispute(client, member, settled["id"], photo=False), 422, "dispute_window_closed")


async def test_p2_only_the_member_or_those_acting_for_them_may_dispute(client):
    settled = await _settle(client)
    stranger = await member_headers(client, "SG0000000003")
    assert_problem(await _dispute(client, stranger, settled["id"], photo=False), 404)


async def test_notices_for_each_movement_with_facility_date_and_amounts(client, tmp_path):
    member = await member_headers(client)
    settled = await _settle(client, compliant_fen=4000)
    clerk = await staff_headers(client, "clerk_zj_dh")
    await client.post(
        f"/v1/counter/settlements/{settled['id']}/reversal",
        json={"reason": "重复录入"},
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    page = (await client.get("/v1/me/notices", headers=member)).json()
    assert page["unread"] == 2
    reversal, counter = page["items"][0]["text_zh"], page["items"][1]["text_zh"]
    assert settled["facility_name"] in counter and "2026-11-24" in counter
    assert "统筹基金支付 35.00 元" in counter and "个人支付 15.00 元" in counter
    assert "已冲正" in reversal and "35.00" in reversal
    marked = await client.post("/v1/me/notices/read", json={"up_to_id": page["items"][0]["id"]}, headers=member)
    assert marked.json() == {"marked": 2, "unread": 0}

    sender = FilePushSender(tmp_path / "push.jsonl")
    # The app's own push loop may already have taken them; a second drain delivers nothing twice.
    await deliver_pending(sender, client.clock.now())
    assert await deliver_pending(sender, client.clock.now()) == 0


async def test_notices_reach_relatives_with_the_view_scope_and_are_pushed(client):
    child = await member_headers(client, "SG0000000001")
    parent = await member_headers(client, "SG0000000002")
    asked = await client.post(
        "/v1/me/family/grants",
        json={"id_number": member_entry(client, "SG0000000002")["id_number"], "scopes": ["view"]},
        headers=child,
    )
    assert asked.status_code == 202, asked.text
    [grant] = (await client.get("/v1/me/family", headers=parent)).json()["acting_for_me"]  # the member's own view
    await client.post(f"/v1/me/family/grants/{grant['id']}/confirm", headers=parent)
    await _settle(client, insurance_no="SG0000000002")
    child_notices = (await client.get("/v1/me/notices", headers=child)).json()["items"]
    assert child_notices and child_notices[0]["kind"] == "counter"
    push_file = Path(client.settings.resolved_push_backend.removeprefix("file:"))
    wanted = child_notices[0]["text_zh"]

    def delivered_to() -> set[int]:
        lines = [json.loads(line) for line in push_file.read_text().splitlines()] if push_file.exists() else []
        return {line["member_id"] for line in lines if line["text"] == wanted}

    for _ in range(50):  # the app's push loop drains the outbox every second
        if len(delivered_to()) == 2:
            break
        await asyncio.sleep(0.1)
    parent_id = child_notices[0]["about_member_id"]
    child_id = (await client.get("/v1/me", headers=child)).json()["member"]["id"]
    assert delivered_to() == {parent_id, child_id}
