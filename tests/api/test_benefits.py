"""Issue 8 (R4): remaining cap and history agree with the settlements; pages are stable; data is private."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.helpers import member_entry, member_headers, staff_headers
from tests.helpers.problems import assert_problem


async def _settle(client, clerk, id_number, visit_date="2026-11-24", **bill):
    response = await client.post(
        "/v1/counter/settlements",
        json={"visit_date": visit_date, "id_number": id_number, **bill},
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_r4_cap_figures_agree_with_settlements_and_reversals(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    a = await _settle(client, clerk, entry["id_number"], general_fee_fen=1000, compliant_fen=4000)  # 35.00
    b = await _settle(client, clerk, entry["id_number"], compliant_fen=10000)  # 70.00
    await client.post(
        f"/v1/counter/settlements/{a['id']}/reversal",
        json={"reason": "重复录入"},
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    member = await member_headers(client)
    benefits = (await client.get("/v1/me/benefits", headers=member)).json()
    assert benefits["used_fen"] == b["fund_fen"] == 7000
    assert benefits["remaining_fen"] == 30000 - 7000 and benefits["eligible"] is True
    assert benefits["out_of_city_remaining_fen"] == 6000
    assert benefits["designation"]["source"] == "carry_over"
    history = (await client.get("/v1/me/settlements", headers=member)).json()["items"]
    assert sum(h["fund_fen"] for h in history) == benefits["used_fen"]
    detail = (await client.get(f"/v1/me/settlements/{b['id']}", headers=member)).json()
    assert detail["lines"][1] == {
        "item": "compliant",
        "amount_fen": 10000,
        "ratio_bp": 7000,
        "fund_fen": 7000,
        "reasons": [],
    }
    summary = (await client.get("/v1/me/benefits/summary", headers=member)).json()
    assert summary["by_month"] == [{"month": 11, "fund_fen": 7000, "member_fen": 3000 + 0, "visits": 1}]


async def test_a_year_without_enrollment_says_so(client):
    member = await member_headers(client)
    assert_problem(await client.get("/v1/me/benefits", params={"year": 2024}, headers=member), 404, "not_enrolled")


async def test_pagination_returns_every_row_once_while_rows_arrive(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    for _ in range(7):
        await _settle(client, clerk, entry["id_number"], compliant_fen=100)
    member = await member_headers(client)
    seen: list[int] = []
    cursor = None
    added = 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/me/settlements", params=params, headers=member)).json()
        seen += [item["id"] for item in page["items"]]
        if added < 2:  # a new visit lands while the resident scrolls
            await _settle(client, clerk, entry["id_number"], compliant_fen=100)
            added += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)
    assert_problem(await client.get("/v1/me/settlements", params={"cursor": "!!"}, headers=member), 422)
    # Well-formed base64 that names no position: refused by the documented cursor pattern (issue 18).
    body = assert_problem(
        await client.get("/v1/me/settlements", params={"cursor": "AAAA"}, headers=member), 422, "validation_error"
    )
    assert body["errors"][0]["field"] == "cursor"


async def test_a_member_cannot_list_or_open_another_members_rows(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    row = await _settle(client, clerk, entry["id_number"], compliant_fen=100)
    other = await member_headers(client, "SG0000000003")
    assert (await client.get("/v1/me/settlements", headers=other)).json()["items"] == []
    assert_problem(await client.get(f"/v1/me/settlements/{row['id']}", headers=other), 404)
    assert_problem(await client.get("/v1/me/settlements", params={"member_id": row["member_id"]}, headers=other), 404)


async def test_year_boundary_a_settlement_of_31_december_counts_in_that_year(client):
    entry = member_entry(client, "SG0000000001")
    client.clock.at = datetime(2026, 12, 31, 15, 55, tzinfo=UTC)  # 23:55 on 31 December in Shaoguan
    clerk = await staff_headers(client, "clerk_zj_dh")
    row = await _settle(client, clerk, entry["id_number"], visit_date="2026-12-31", compliant_fen=1000)
    assert row["year"] == 2026
    member = await member_headers(client)
    assert (await client.get("/v1/me/benefits", params={"year": 2026}, headers=member)).json()["used_fen"] == 700
    client.clock.at = datetime(2026, 12, 31, 16, 5, tzinfo=UTC)  # 00:05 on 1 January 2027 in Shaoguan
    late = await client.post(
        "/v1/counter/settlements",
        json={"visit_date": "2026-12-31", "id_number": entry["id_number"], "compliant_fen": 1000},
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert late.status_code == 201 and late.json()["year"] == 2026  # R17: late settlement counts in 2026 too
    client.clock.at = datetime(2027, 1, 15, 16, 5, tzinfo=UTC)  # 00:05 on 16 January 2027: the window closed
    clerk = await staff_headers(client, "clerk_zj_dh")
    closed = await client.post(
        "/v1/counter/settlements",
        json={"visit_date": "2026-12-31", "id_number": entry["id_number"], "compliant_fen": 1000},
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert_problem(closed, 422, "visit_outside_policy_year")
