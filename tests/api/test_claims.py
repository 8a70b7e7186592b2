"""Issue 9 (R5, R9, R10, R11; E4, E7): claims with receipts, the claim window, review and payout."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from member_api.claims.tables import Receipt
from member_api.ledger.tables import BenefitAccount, Movement
from tests.helpers import facility_id, member_entry, member_headers, staff_headers
from tests.helpers.claims import HOSPITAL, add_receipt, draft_claim, idem
from tests.helpers.files import png_bytes
from tests.helpers.problems import assert_problem


def at_local(clock, y, m, d, hour=10) -> None:
    clock.at = datetime(y, m, d, hour - 8, 0, tzinfo=UTC)


async def _referral(client, member_entry_, valid_from="2026-11-24", valid_to="2026-12-31") -> dict:
    clerk = await staff_headers(client, "clerk_zj_dh")
    response = await client.post(
        "/v1/counter/referrals",
        json={
            "id_number": member_entry_["id_number"],
            "target_facility_id": await facility_id(client, HOSPITAL),
            "valid_from": valid_from,
            "valid_to": valid_to,
        },
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _referral_claim(client, compliant_fen: int = 100) -> tuple[dict, dict]:
    """SG0000000001 referred to the city hospital, with a draft claim for one visit there: (headers, claim)."""
    referral = await _referral(client, member_entry(client, "SG0000000001"))
    member = await member_headers(client)
    body = {
        "kind": "referral",
        "referral_id": referral["id"],
        "items": [
            {
                "care_date": "2026-11-24",
                "facility_id": await facility_id(client, HOSPITAL),
                "compliant_fen": compliant_fen,
            }
        ],
    }
    return member, await draft_claim(client, member, body)


async def test_e4_referral_claim_end_to_end(client):
    entry = member_entry(client, "SG0000000001")
    referral = await _referral(client, entry)
    member = await member_headers(client)
    assert [r["id"] for r in (await client.get("/v1/me/referrals", headers=member)).json()] == [referral["id"]]
    hospital = await facility_id(client, HOSPITAL)
    claim = await draft_claim(
        client,
        member,
        {
            "kind": "referral",
            "referral_id": referral["id"],
            "items": [{"care_date": "2026-11-24", "facility_id": hospital, "compliant_fen": 20000}],
        },
    )
    assert claim["status"] == "draft"
    assert_problem(await client.post(f"/v1/me/claims/{claim['id']}/submit", headers=member), 422, "claim_incomplete")
    assert (await add_receipt(client, member, claim)).status_code == 201
    submitted = await client.post(f"/v1/me/claims/{claim['id']}/submit", headers=member)
    assert submitted.json()["status"] == "submitted"
    assert_problem(await add_receipt(client, member, claim), 409, "claim_not_draft")

    reviewer = await staff_headers(client, "reviewer_agency")
    queue = (await client.get("/v1/review/claims", params={"status": "submitted"}, headers=reviewer)).json()
    assert [c["id"] for c in queue] == [claim["id"]]
    receipt = queue[0]["items"][0]["receipts"][0]
    file = await client.get(f"/v1/review/claims/{claim['id']}/receipts/{receipt['id']}", headers=reviewer)
    assert file.content == png_bytes()
    decided = await client.post(
        f"/v1/review/claims/{claim['id']}/decision",
        headers=reviewer,
        json={"items": [{"item_id": claim["items"][0]["id"], "decision": "approve"}]},
    )
    body = decided.json()
    assert (body["status"], body["paid_fen"]) == ("approved", 10000)  # E4: 50% of 200.00 at a tertiary hospital
    history = (await client.get("/v1/me/settlements", headers=member)).json()["items"]
    assert history[0]["kind"] == "claim_payout" and history[0]["fund_fen"] == 10000
    assert (await client.get("/v1/me/benefits", headers=member)).json()["used_fen"] == 10000


async def test_r10_counter_settlement_with_referral_pays_tier_ratio(client):
    entry = member_entry(client, "SG0000000001")
    referral = await _referral(client, entry)
    hospital_clerk = await staff_headers(client, "clerk_ybrm")
    body = {"visit_date": "2026-11-24", "id_number": entry["id_number"], "compliant_fen": 10000}
    without = await client.post("/v1/counter/settlements", json=body, headers={**hospital_clerk, **idem()})
    assert without.json()["fund_fen"] == 0 and without.json()["reasons"] == ["not_designated"]
    with_ref = await client.post(
        "/v1/counter/settlements", json={**body, "referral_id": referral["id"]}, headers={**hospital_clerk, **idem()}
    )
    assert with_ref.json()["fund_fen"] == 5000
    other_clerk = await staff_headers(client, "clerk_wj_xh")
    assert_problem(
        await client.post(
            "/v1/counter/settlements", json={**body, "referral_id": referral["id"]}, headers={**other_clerk, **idem()}
        ),
        422,
        "referral_not_found",
    )
    refused = await client.post(
        "/v1/counter/referrals",
        headers={**other_clerk, "Idempotency-Key": str(uuid.uuid4())},
        json={
            "id_number": entry["id_number"],
            "target_facility_id": await facility_id(client, HOSPITAL),
            "valid_from": "2026-11-24",
            "valid_to": "2026-12-01",
        },
    )
    assert_problem(refused, 403, "not_designated_facility")


async def _newborn(client):
    guardian = await member_headers(client, "SG0000000004")
    newborn = (await client.get("/v1/me/dependants", headers=guardian)).json()[0]
    f = client.world["facilities"]
    chosen = await client.put(
        "/v1/me/designation",
        params={"member_id": newborn["id"]},
        headers=guardian,
        json={
            "institution_id": await facility_id(client, f["designated_institution"]),
            "station_id": await facility_id(client, f["designated_station"]),
        },
    )
    assert chosen.status_code == 200, chosen.text
    return guardian, newborn


async def test_e7_newborn_claim_in_the_window(client):
    guardian, newborn = await _newborn(client)
    enrolled_on = newborn["enrollments"][0]["enrolled_on"]
    assert newborn["birth_date"] == "2026-10-10" and enrolled_on == "2026-10-28"
    station = await facility_id(client, client.world["facilities"]["designated_station"])
    claim = await draft_claim(
        client,
        guardian,
        {
            "kind": "newborn",
            "items": [
                {"care_date": "2026-10-15", "facility_id": station, "general_fee_fen": 500, "compliant_fen": 2000},
                {"care_date": "2026-11-01", "facility_id": station, "compliant_fen": 1000},
            ],
        },
        member_id=newborn["id"],
    )
    for index in (0, 1):
        assert (await add_receipt(client, guardian, claim, index, member_id=newborn["id"])).status_code == 201
    at_local(client.clock, 2026, 11, 26)
    guardian = await member_headers(client, "SG0000000004")
    refused = await client.post(
        f"/v1/me/claims/{claim['id']}/submit", params={"member_id": newborn["id"]}, headers=guardian
    )
    body = assert_problem(refused, 422, "claim_incomplete")
    assert [e["field"] for e in body["errors"]] == ["items[1].care_date"]  # E7: after enrollment, settled normally


@pytest.mark.clock_at(datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
async def test_r9_window_meeting_a_weekend_and_the_422_outside_it(client):
    # October's window is 27-31 October; the 31st is a Saturday, so it runs to Monday 2 November.
    guardian, newborn = await _newborn(client)
    station = await facility_id(client, client.world["facilities"]["designated_station"])
    claim = await draft_claim(
        client,
        guardian,
        {
            "kind": "newborn",
            "items": [
                {"care_date": "2026-10-15", "facility_id": station, "general_fee_fen": 500, "compliant_fen": 2000}
            ],
        },
        member_id=newborn["id"],
    )
    await add_receipt(client, guardian, claim, member_id=newborn["id"])
    at_local(client.clock, 2026, 11, 3)
    guardian = await member_headers(client, "SG0000000004")
    outside = await client.post(
        f"/v1/me/claims/{claim['id']}/submit", params={"member_id": newborn["id"]}, headers=guardian
    )
    body = assert_problem(outside, 422, "outside_claim_window")
    assert body["extra"]["next_window"] == {
        "start": "2026-11-26",
        "end": "2026-11-30",
        "calendar_source": "chinesecalendar",
    }
    at_local(client.clock, 2026, 11, 26)
    guardian = await member_headers(client, "SG0000000004")
    inside = await client.post(
        f"/v1/me/claims/{claim['id']}/submit", params={"member_id": newborn["id"]}, headers=guardian
    )
    assert inside.json()["status"] == "submitted"
    reviewer = await staff_headers(client, "reviewer_agency")
    paid = await client.post(
        f"/v1/review/claims/{claim['id']}/decision",
        headers=reviewer,
        json={"items": [{"item_id": claim["items"][0]["id"], "decision": "approve"}]},
    )
    assert paid.json()["paid_fen"] == 1750  # the station's tier: 3.50 + 14.00 (R7)


async def test_bad_receipts_refused_with_nothing_stored(client):
    member, claim = await _referral_claim(client)
    blobs = os.path.join(client.settings.data_dir, "blobs")
    before = sum(len(f) for _, _, f in os.walk(blobs))
    for files, code in [
        ([("files", ("a.png", b"GIF89a\x01\x00\x01\x00", "image/png"))], "file_type_not_allowed"),
        ([("files", ("a.png", b"\x89PNG\r\n\x1a\n\x00garbage", "image/png"))], "file_corrupt"),
        ([("files", ("a.pdf", b"", "application/pdf"))], "file_empty"),
    ]:
        assert_problem(await add_receipt(client, member, claim, files=files), 422, code)
    assert await Receipt.count() == 0
    assert sum(len(f) for _, _, f in os.walk(blobs)) == before


async def test_crash_between_file_write_and_commit_leaves_nothing_a_reader_sees(client, monkeypatch):
    from member_api.claims import service

    member, claim = await _referral_claim(client)

    async def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(service, "record", crash)
    content = png_bytes(48)
    failed = await add_receipt(client, member, claim, files=[("files", ("r.png", content, "image/png"))])
    assert_problem(failed, 500, "internal_error")
    monkeypatch.undo()
    assert await Receipt.count() == 0
    assert (await client.get(f"/v1/me/claims/{claim['id']}", headers=member)).json()["items"][0]["receipts"] == []
    import hashlib

    from member_api.core.storage import BlobStore

    store = BlobStore(Path(client.settings.data_dir) / "blobs")
    assert not store.path_for(hashlib.sha256(content).hexdigest()).exists()
    assert store.stray_temp_files() == []


async def test_reused_receipt_is_flagged(client):
    entry = member_entry(client, "SG0000000001")
    referral = await _referral(client, entry)
    member = await member_headers(client)
    body = {
        "kind": "referral",
        "referral_id": referral["id"],
        "items": [
            {"care_date": "2026-11-24", "facility_id": await facility_id(client, HOSPITAL), "compliant_fen": 100}
        ],
    }
    first, second = await draft_claim(client, member, body), await draft_claim(client, member, body)
    await add_receipt(client, member, first)
    again = (await add_receipt(client, member, second)).json()
    assert all(r["reused"] for r in again["items"][0]["receipts"])


async def test_others_cannot_read_a_claim_or_its_receipts(client):
    member, claim = await _referral_claim(client)
    receipt_id = (await add_receipt(client, member, claim)).json()["items"][0]["receipts"][0]["id"]
    other = await member_headers(client, "SG0000000003")
    clerk = await staff_headers(client, "clerk_zj_dh")
    for path in (f"/v1/me/claims/{claim['id']}", f"/v1/me/claims/{claim['id']}/receipts/{receipt_id}"):
        assert_problem(await client.get(path, headers=other), 404)
        assert_problem(await client.get(path, headers=clerk), 403)
    assert_problem(await client.get(f"/v1/review/claims/{claim['id']}/receipts/{receipt_id}", headers=clerk), 403)
    assert (await client.get(f"/v1/me/claims/{claim['id']}/receipts/{receipt_id}", headers=member)).status_code == 200


async def test_claim_payout_racing_counter_settlements_never_overspends(client):
    member, claim = await _referral_claim(client, 40000)
    await add_receipt(client, member, claim)
    await client.post(f"/v1/me/claims/{claim['id']}/submit", headers=member)
    reviewer = await staff_headers(client, "reviewer_agency")
    clerk = await staff_headers(client, "clerk_zj_dh")
    counter = [
        client.post(
            "/v1/counter/settlements",
            headers={**clerk, **idem()},
            json={
                "visit_date": "2026-11-24",
                "id_number": member_entry(client, "SG0000000001")["id_number"],
                "compliant_fen": 5000,
            },
        )
        for _ in range(8)
    ]
    decision = client.post(
        f"/v1/review/claims/{claim['id']}/decision",
        headers=reviewer,
        json={"items": [{"item_id": claim["items"][0]["id"], "decision": "approve"}]},
    )
    responses = await asyncio.gather(decision, *counter)
    assert all(r.status_code in (200, 201) for r in responses)
    total = sum(row["fund_fen"] for row in await Movement.select(Movement.fund_fen))
    account = await BenefitAccount.select().first()
    assert total == account["used_fen"] == 30000


async def test_a_claim_taken_into_review_is_decided_by_that_reviewer_only(client):
    member, claim = await _referral_claim(client)
    await add_receipt(client, member, claim)
    await client.post(f"/v1/me/claims/{claim['id']}/submit", headers=member)
    first, second = await staff_headers(client, "reviewer_agency"), await staff_headers(client, "reviewer_agency_2")
    decision = {"items": [{"item_id": claim["items"][0]["id"], "decision": "approve"}]}

    taken = (await client.post(f"/v1/review/claims/{claim['id']}/review", headers=first)).json()
    assert taken["status"] == "in_review" and taken["review_started_at"] is not None
    assert (await client.get(f"/v1/me/claims/{claim['id']}", headers=member)).json()["status"] == "in_review"
    queue = (await client.get("/v1/review/claims", params={"status": "in_review"}, headers=second)).json()
    assert [c["id"] for c in queue] == [claim["id"]]
    assert_problem(
        await client.post(f"/v1/review/claims/{claim['id']}/review", headers=second),
        409,
        "claim_taken_by_another_reviewer",
    )
    assert_problem(
        await client.post(f"/v1/review/claims/{claim['id']}/decision", headers=second, json=decision),
        409,
        "claim_taken_by_another_reviewer",
    )
    decided = await client.post(f"/v1/review/claims/{claim['id']}/decision", headers=first, json=decision)
    assert decided.json()["status"] == "approved"
    assert_problem(
        await client.post(f"/v1/review/claims/{claim['id']}/review", headers=first), 409, "claim_not_reviewable"
    )
