"""消息 in the resident H5: the unread badge in the top bar, the list, a notice opened leads to what it is about
and is read from then on (issue 30 item 5)."""

from __future__ import annotations

import uuid

import httpx

from member_api.core.clock import SystemClock, local_today
from tests.helpers.browser import clerk_headers, log_in, member


async def test_a_settlement_notice_shows_a_badge_and_opens_the_settlement(phone, server, shots):
    resident = member(server, "SG0000000001")
    await log_in(phone, server, resident)
    await phone.goto("/app/")
    assert await phone.locator("[data-testid=unread-badge]").count() == 0

    headers = await clerk_headers(server, "clerk_zj_dh")
    async with httpx.AsyncClient(base_url=server.url) as http:
        settled = await http.post(
            "/v1/counter/settlements",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            json={
                "visit_date": local_today(SystemClock()).isoformat(),
                "id_number": resident["id_number"],
                "general_fee_fen": 1000,
                "compliant_fen": 4000,
            },
        )
    assert settled.status_code == 201, settled.text

    await phone.goto("/app/")
    badge = phone.locator("[data-testid=unread-badge]")
    assert await badge.inner_text() == "1"
    await shots(phone, "30-messages-badge")

    await phone.click("[data-testid=messages-link]")
    await phone.wait_for_url("**/app/messages")
    items = phone.locator("[data-testid=message]")
    assert await items.count() == 1
    text = await items.first.inner_text()
    assert "门诊结算" in text and "统筹基金支付 35.00 元" in text and "未读" not in text  # the dot is not text
    assert "1 条未读" in await phone.locator("[data-testid=messages-unread]").inner_text()
    await shots(phone, "30-messages-list")

    await items.first.locator("a").click()
    await phone.wait_for_url(f"**/app/history/{settled.json()['id']}")
    await shots(phone, "30-messages-opened-settlement")

    await phone.goto("/app/messages")
    assert await phone.locator("[data-testid=unread-badge]").count() == 0
    assert await phone.locator("[data-testid=messages-unread]").count() == 0
    assert "unread" not in (await items.first.get_attribute("class") or "")
    await shots(phone, "30-messages-read")
