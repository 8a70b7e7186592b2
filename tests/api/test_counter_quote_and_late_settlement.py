"""Issue 16 (R1, R4, R8, R17): the pre-settlement quote, late settlement of last year's visits, mid-year enrollment."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from member_api.audit.tables import AuditEvent
from member_api.core.tables import IdempotencyRecord
from member_api.ledger.tables import Movement
from member_api.members.tables import Enrollment, Member
from tests.helpers import member_entry, member_headers, staff_headers
from tests.helpers.problems import assert_problem

VISIT = "2026-11-24"
E1_BILL = {"general_fee_fen": 1000, "compliant_fen": 4000, "non_compliant_fen": 1500}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def quote(client, clerk, body, expect=200) -> dict:
    response = await client.post("/v1/counter/quotes", json=body, headers=clerk)
    assert response.status_code == expect, response.text
    return response.json()


async def settle(client, clerk, body, expect=201) -> dict:
    response = await client.post("/v1/counter/settlements", json=body, headers={**clerk, **key()})
    assert response.status_code == expect, response.text
    return response.json()


async def test_r8_quote_writes_nothing_and_leaves_the_e_credential_for_the_settlement(client):
    member = await member_headers(client)
    clerk = await staff_headers(client, "clerk_zj_dh")
    token = (await client.get("/v1/me/credential", headers=member)).json()["token"]
    audit_before = await AuditEvent.count()
    body = {"visit_date": VISIT, "credential": token, **E1_BILL}
    response = await client.post("/v1/counter/quotes", json=body, headers=clerk)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    quoted = response.json()
    assert (quoted["fund_fen"], quoted["member_fen"]) == (3500, 3000)  # E1
    assert (quoted["remaining_before_fen"], quoted["remaining_fen"]) == (30000, 26500)
    assert [line["fund_fen"] for line in quoted["lines"]] == [700, 2800, 0] and "non_compliant" in quoted["reasons"]
    assert await Movement.count() == 0 and await IdempotencyRecord.count() == 0
    assert await AuditEvent.count() == audit_before
    again = await quote(client, clerk, body)  # the credential is still unused
    settled = await settle(client, clerk, {**body, "quote_id": again["quote_id"]})
    assert (settled["fund_fen"], settled["member_fen"], settled["remaining_fen"]) == (3500, 3000, 26500)
    assert settled["changed_since_quote"] is False and settled["quoted"]["fund_fen"] == 3500
    assert_problem(await client.post("/v1/counter/quotes", json=body, headers=clerk), 409, "credential_used")


async def test_r4_quote_race_a_second_settlement_between_quote_and_settle(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    station_clerk = await staff_headers(client, "clerk_zj_dh_station")
    body = {"visit_date": VISIT, "id_number": entry["id_number"], **E1_BILL}
    quoted = await quote(client, clerk, body)
    assert (quoted["fund_fen"], quoted["remaining_fen"]) == (3500, 26500)
    # Another visit of the same member settles at the station while the first counter holds the quote.
    other = await settle(
        client, station_clerk, {"visit_date": VISIT, "id_number": entry["id_number"], "compliant_fen": 41429}
    )
    assert other["fund_fen"] == 29000 and other["remaining_fen"] == 1000
    settled = await settle(client, clerk, {**body, "quote_id": quoted["quote_id"]})
    assert settled["changed_since_quote"] is True
    assert (settled["fund_fen"], settled["member_fen"], settled["remaining_fen"]) == (1000, 5500, 0)  # E3, not E1
    assert settled["quoted"] == {
        "quote_id": quoted["quote_id"],
        "fund_fen": 3500,
        "member_fen": 3000,
        "remaining_fen": 26500,
        "remaining_out_of_city_fen": 6000,
    }
    assert settled["reasons"][-1] == "annual_cap_reached"
    stored = await Movement.select().where(Movement.id == settled["id"]).first()
    assert stored["fund_fen"] == 1000  # what was answered is what was recorded


async def test_r8_a_quote_binds_its_visit_facility_member_and_lifetime(client):
    entry = member_entry(client, "SG0000000001")
    other_member = member_entry(client, "SG0000000002")
    clerk = await staff_headers(client, "clerk_zj_dh")
    body = {"visit_date": VISIT, "id_number": entry["id_number"], **E1_BILL}
    quote_id = (await quote(client, clerk, body))["quote_id"]
    changed_bill = {**body, "compliant_fen": 4001, "quote_id": quote_id}
    assert_problem(
        await client.post("/v1/counter/settlements", json=changed_bill, headers={**clerk, **key()}),
        422,
        "quote_mismatch",
    )
    someone_else = {**body, "id_number": other_member["id_number"], "quote_id": quote_id}
    assert_problem(
        await client.post("/v1/counter/settlements", json=someone_else, headers={**clerk, **key()}),
        422,
        "quote_mismatch",
    )
    other_clerk = await staff_headers(client, "clerk_wj_xh")
    assert_problem(
        await client.post(
            "/v1/counter/settlements", json={**body, "quote_id": quote_id}, headers={**other_clerk, **key()}
        ),
        422,
        "quote_invalid",
    )
    assert_problem(
        await client.post("/v1/counter/settlements", json={**body, "quote_id": "x.y.z"}, headers={**clerk, **key()}),
        422,
        "quote_invalid",
    )
    client.clock.advance(client.settings.quote_ttl_s)
    clerk = await staff_headers(client, "clerk_zj_dh")
    assert_problem(
        await client.post("/v1/counter/settlements", json={**body, "quote_id": quote_id}, headers={**clerk, **key()}),
        422,
        "quote_expired",
    )
    assert await Movement.count() == 0
    assert_problem(await client.post("/v1/counter/quotes", json=body, headers=await member_headers(client)), 403)


# ---- R17: late settlement around the edge of the window (15 days into the new year, local time) -----------------

LAST_MINUTE = datetime(2027, 1, 15, 15, 59, tzinfo=UTC)  # 23:59 on 15 January in Shanghai
FIRST_MINUTE_AFTER = datetime(2027, 1, 15, 16, 0, tzinfo=UTC)  # 00:00 on 16 January in Shanghai


@pytest.mark.clock_at(LAST_MINUTE)
async def test_r17_last_years_visit_settles_on_the_last_day_of_the_window_against_last_year(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    late = {"visit_date": "2026-12-20", "id_number": entry["id_number"], **E1_BILL}
    quoted = await quote(client, clerk, late)
    assert (quoted["year"], quoted["fund_fen"]) == (2026, 3500)
    settled = await settle(client, clerk, {**late, "quote_id": quoted["quote_id"]})
    assert (settled["year"], settled["fund_fen"], settled["remaining_fen"]) == (2026, 3500, 26500)
    current = await settle(client, clerk, {**late, "visit_date": "2027-01-15"})
    assert (current["year"], current["remaining_fen"]) == (2027, 26500)  # a separate cap for the new year
    member = await member_headers(client)
    assert (await client.get("/v1/me/benefits", params={"year": 2026}, headers=member)).json()["used_fen"] == 3500
    reversed_ = await client.post(
        f"/v1/counter/settlements/{settled['id']}/reversal", json={"reason": "录入错误"}, headers={**clerk, **key()}
    )
    assert reversed_.status_code == 201, reversed_.text
    assert (reversed_.json()["year"], reversed_.json()["remaining_fen"]) == (2026, 30000)


@pytest.mark.clock_at(FIRST_MINUTE_AFTER)
async def test_r17_last_years_visit_refused_after_the_window_with_the_date_it_was_possible_until(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    late = {"visit_date": "2026-12-20", "id_number": entry["id_number"], **E1_BILL}
    for path in ("/v1/counter/quotes", "/v1/counter/settlements"):
        body = assert_problem(
            await client.post(path, json=late, headers={**clerk, **key()}), 422, "visit_outside_policy_year"
        )
        assert body["extra"] == {"year": 2026, "settle_until": "2027-01-15"}
        assert "2027-01-15" in body["message_zh"] and "2027-01-15" in body["message_en"]
    assert await Movement.count() == 0
    assert (await settle(client, clerk, {**late, "visit_date": "2027-01-16"}))["year"] == 2027


@pytest.mark.clock_at(datetime(2027, 1, 10, 2, 0, tzinfo=UTC))
async def test_r17_reversal_of_last_years_settlement_follows_the_same_window(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    settled = await settle(client, clerk, {"visit_date": "2026-12-31", "id_number": entry["id_number"], **E1_BILL})
    assert settled["year"] == 2026
    client.clock.at = FIRST_MINUTE_AFTER
    clerk = await staff_headers(client, "clerk_zj_dh")
    refused = await client.post(
        f"/v1/counter/settlements/{settled['id']}/reversal", json={"reason": "录入错误"}, headers={**clerk, **key()}
    )
    body = assert_problem(refused, 422, "reversal_outside_policy_year")
    assert body["extra"]["settle_until"] == "2027-01-15"
    assert await Movement.count() == 1


# ---- R1: mid-year enrollment --------------------------------------------------------------------------------------


async def test_r1_mid_year_enrollment_is_covered_from_the_enrollment_date(client):
    entry = member_entry(client, "SG0000000001")
    member = await Member.select(Member.id).where(Member.insurance_no == "SG0000000001").first()
    await Enrollment.update({Enrollment.enrolled_on: date(2026, 11, 24)}).where(
        (Enrollment.member == member["id"]) & (Enrollment.year == 2026)
    )
    clerk = await staff_headers(client, "clerk_zj_dh")
    before = await settle(client, clerk, {"visit_date": "2026-11-23", "id_number": entry["id_number"], **E1_BILL})
    assert (before["fund_fen"], before["reasons"]) == (0, ["not_eligible"])
    on_the_day = await settle(client, clerk, {"visit_date": "2026-11-24", "id_number": entry["id_number"], **E1_BILL})
    assert on_the_day["fund_fen"] == 3500
