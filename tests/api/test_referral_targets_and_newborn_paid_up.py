"""Issue 16 (R1, R5, R9, R10): referrals to any designated institution; newborn claims need the newborn paid up;
claim-window answers name their holiday calendar."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from member_api.members.tables import Enrollment
from tests.helpers import facility_id, member_entry, member_headers, staff_headers
from tests.helpers.claims import add_receipt, draft_claim, idem
from tests.helpers.facilities import codes
from tests.helpers.problems import assert_problem


def at_local(clock, y, m, d, hour=10) -> None:
    clock.at = datetime(y, m, d, hour - 8, 0, tzinfo=UTC)


async def _refer(client, clerk, entry, target_id, expect=201) -> dict:
    response = await client.post(
        "/v1/counter/referrals",
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
        json={
            "id_number": entry["id_number"],
            "target_facility_id": target_id,
            "valid_from": "2026-11-24",
            "valid_to": "2026-12-31",
        },
    )
    assert response.status_code == expect, response.text
    return response.json()


async def test_r10_referral_to_another_primary_institution_is_paid_at_70_percent(client):
    entry = member_entry(client, "SG0000000001")  # designated: 东河 community centre and its station
    ids = await codes(client)
    clerk = await staff_headers(client, "clerk_zj_dh")
    referral = await _refer(client, clerk, entry, ids["wj_inst"])  # 西河镇卫生院, a township centre
    assert referral["target_facility_id"] == ids["wj_inst"]

    # The counter path at the target: 70% of compliant care and of the general fee (R6, R7).
    target_clerk = await staff_headers(client, "clerk_wj_xh")
    body = {"visit_date": "2026-11-24", "id_number": entry["id_number"], "general_fee_fen": 1000, "compliant_fen": 4000}
    without = await client.post("/v1/counter/settlements", json=body, headers={**target_clerk, **idem()})
    assert (without.json()["fund_fen"], without.json()["reasons"]) == (0, ["not_designated"])
    with_referral = await client.post(
        "/v1/counter/settlements", json={**body, "referral_id": referral["id"]}, headers={**target_clerk, **idem()}
    )
    assert with_referral.status_code == 201, with_referral.text
    assert (with_referral.json()["fund_fen"], with_referral.json()["member_fen"]) == (3500, 1500)

    # The up-front-and-claim-back channel for another visit there.
    member = await member_headers(client)
    claim = await draft_claim(
        client,
        member,
        {
            "kind": "referral",
            "referral_id": referral["id"],
            "items": [{"care_date": "2026-11-24", "facility_id": ids["wj_inst"], "compliant_fen": 10000}],
        },
    )
    assert (await add_receipt(client, member, claim)).status_code == 201
    submitted = await client.post(f"/v1/me/claims/{claim['id']}/submit", headers=member)
    assert submitted.status_code == 200, submitted.text
    reviewer = await staff_headers(client, "reviewer_agency")
    decided = await client.post(
        f"/v1/review/claims/{claim['id']}/decision",
        headers=reviewer,
        json={"items": [{"item_id": claim["items"][0]["id"], "decision": "approve"}]},
    )
    assert decided.json()["paid_fen"] == 7000


async def test_r10_referral_targets_must_be_other_designated_facilities_in_the_city(client):
    entry = member_entry(client, "SG0000000001")
    ids = await codes(client)
    clerk = await staff_headers(client, "clerk_zj_dh")
    for target in (ids["inst"], ids["station"], ids["outside"]):
        refused = await client.post(
            "/v1/counter/referrals",
            headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
            json={
                "id_number": entry["id_number"],
                "target_facility_id": target,
                "valid_from": "2026-11-24",
                "valid_to": "2026-12-31",
            },
        )
        assert_problem(refused, 422, "invalid_referral_target")
    assert (await _refer(client, clerk, entry, ids["hospital"]))["target_facility_id"] == ids["hospital"]


async def _unpaid_newborn_claim(client) -> tuple[dict, dict, dict]:
    """The demo newborn (born 2026-10-10, enrolled 2026-10-28), enrolled but NOT paid up for 2026, with a claim for
    a 10.00 + 100.00 visit at the community centre before enrollment: (guardian headers, newborn, claim)."""
    guardian = await member_headers(client, "SG0000000004")
    newborn = (await client.get("/v1/me/dependants", headers=guardian)).json()[0]
    await Enrollment.update({Enrollment.paid_up: False}).where(
        (Enrollment.member == newborn["id"]) & (Enrollment.year == 2026)
    )
    centre = await facility_id(client, client.world["facilities"]["designated_institution"])
    claim = await draft_claim(
        client,
        guardian,
        {
            "kind": "newborn",
            "lodged_with_id": centre,
            "items": [
                {"care_date": "2026-10-15", "facility_id": centre, "general_fee_fen": 1000, "compliant_fen": 10000}
            ],
        },
        member_id=newborn["id"],
    )
    assert (await add_receipt(client, guardian, claim, member_id=newborn["id"])).status_code == 201
    return guardian, newborn, claim


async def test_r1_r5_newborn_enrolled_but_not_paid_up_is_refused_at_submit(client):
    guardian, newborn, claim = await _unpaid_newborn_claim(client)
    at_local(client.clock, 2026, 11, 26)  # inside November's window
    guardian = await member_headers(client, "SG0000000004")
    submit = f"/v1/me/claims/{claim['id']}/submit"
    refused = await client.post(submit, params={"member_id": newborn["id"]}, headers=guardian)
    body = assert_problem(refused, 422, "newborn_not_paid_up")  # before the fix: 200, then a payout of 77.00
    assert [e["field"] for e in body["errors"]] == ["items[0].care_date"]
    assert body["extra"] == {"years_not_paid_up": [2026]}
    claims = (await client.get("/v1/me/claims", params={"member_id": newborn["id"]}, headers=guardian)).json()
    assert claims[0]["status"] == "draft" and claims[0]["paid_fen"] == 0

    # Once the newborn is paid up for 2026, the same claim goes through and pays 7.00 + 70.00 (R5, R6, R7).
    await Enrollment.update({Enrollment.paid_up: True}).where(
        (Enrollment.member == newborn["id"]) & (Enrollment.year == 2026)
    )
    assert (await client.post(submit, params={"member_id": newborn["id"]}, headers=guardian)).status_code == 200
    reviewer = await staff_headers(client, "reviewer_agency")
    decided = await client.post(
        f"/v1/review/claims/{claim['id']}/decision",
        headers=reviewer,
        json={"items": [{"item_id": claim["items"][0]["id"], "decision": "approve"}]},
    )
    assert decided.json()["paid_fen"] == 7700


@pytest.mark.clock_at(datetime(2027, 7, 1, 2, 0, tzinfo=UTC))
async def test_r9_claim_window_answer_says_no_holiday_calendar_covers_2027(client):
    guardian = await member_headers(client, "SG0000000004")
    newborn = (await client.get("/v1/me/dependants", headers=guardian)).json()[0]
    centre = await facility_id(client, client.world["facilities"]["designated_institution"])
    claim = await draft_claim(
        client,
        guardian,
        {
            "kind": "newborn",
            "lodged_with_id": centre,
            "items": [{"care_date": newborn["birth_date"], "facility_id": centre, "compliant_fen": 1000}],
        },
        member_id=newborn["id"],
    )
    await add_receipt(client, guardian, claim, member_id=newborn["id"])
    outside = await client.post(
        f"/v1/me/claims/{claim['id']}/submit", params={"member_id": newborn["id"]}, headers=guardian
    )
    body = assert_problem(outside, 422, "outside_claim_window")
    # 31 July 2027 is a Saturday; with no official 2027 schedule the end moves past the weekend only, and says so.
    assert body["extra"]["next_window"] == {
        "start": "2027-07-27",
        "end": "2027-08-02",
        "calendar_source": "weekends_only",
    }
