"""Issue 33 item 10: a retried referral or receipt upload (a phone on a flaky network) creates once (R10, R9)."""

from __future__ import annotations

import uuid

from tests.helpers import facility_id, member_entry, member_headers, staff_headers
from tests.helpers.claims import HOSPITAL, draft_claim
from tests.helpers.files import png_bytes
from tests.helpers.problems import assert_problem


async def test_r10_referral_retried_with_its_key_is_registered_once(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    body = {
        "id_number": entry["id_number"],
        "target_facility_id": await facility_id(client, HOSPITAL),
        "valid_from": "2026-11-24",
        "valid_to": "2026-12-31",
    }
    missing = await client.post("/v1/counter/referrals", json=body, headers=clerk)
    assert_problem(missing, 400, "idempotency_key_missing")
    key = {**clerk, "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/v1/counter/referrals", json=body, headers=key)
    again = await client.post("/v1/counter/referrals", json=body, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    other = await client.post("/v1/counter/referrals", json={**body, "valid_to": "2026-12-30"}, headers=key)
    assert_problem(other, 422, "idempotency_key_reused")
    member = await member_headers(client)
    listed = await client.get("/v1/me/referrals", headers=member)
    assert [r["id"] for r in listed.json()] == [first.json()["id"]]


async def test_r9_receipts_retried_with_their_key_are_attached_once(client):
    member = await member_headers(client, "SG0000000004")
    dependant = member_entry(client, "SG0000000005")
    dependants = await client.get("/v1/me/dependants", headers=member)
    ward = next(d["id"] for d in dependants.json() if d["insurance_no"] == dependant["insurance_no"])
    body = {
        "kind": "newborn",
        "lodged_with_id": await facility_id(client, "H44020400001"),
        "items": [{"care_date": "2026-11-12", "out_of_city_name": "清远市人民医院", "compliant_fen": 1000}],
    }
    claim = await draft_claim(client, member, body, member_id=ward)
    path = f"/v1/me/claims/{claim['id']}/receipts"
    form = {"item_id": str(claim["items"][0]["id"])}
    photo = png_bytes(40)
    missing = await client.post(
        path, params={"member_id": ward}, headers=member, data=form, files=[("files", ("r.png", photo, "image/png"))]
    )
    assert_problem(missing, 400, "idempotency_key_missing")
    key = {**member, "Idempotency-Key": str(uuid.uuid4())}
    for _ in range(2):
        done = await client.post(
            path, params={"member_id": ward}, headers=key, data=form, files=[("files", ("r.png", photo, "image/png"))]
        )
        assert done.status_code == 201, done.text
    assert len(done.json()["items"][0]["receipts"]) == 1
    other = await client.post(
        path,
        params={"member_id": ward},
        headers=key,
        data=form,
        files=[("files", ("r.png", png_bytes(41), "image/png"))],
    )
    assert_problem(other, 422, "idempotency_key_reused")


async def test_demo_walk_seeds_a_draft_a_claim_to_review_and_a_pending_request(client, database):
    """Issue 33 item 2: every screen of the README's walk has something to show on any day (R2, R5, R10)."""
    from member_api.jobs.demo_walk import seed_walk

    made = await seed_walk(database["settings"], client.world, client.clock)
    assert set(made) == {"newborn_draft_claim", "submitted_claim", "pending_change_request"}
    assert await seed_walk(database["settings"], client.world, client.clock) == {}  # re-run: nothing twice
    reviewer = await staff_headers(client, "reviewer_agency")
    queue = await client.get("/v1/review/claims", headers=reviewer)
    assert [c["id"] for c in queue.json()] == [made["submitted_claim"]]
    requests = await client.get("/v1/review/change-requests", headers=reviewer)
    assert made["pending_change_request"] in [r["id"] for r in requests.json()]
    guardian = await member_headers(client, "SG0000000004")
    dependants = await client.get("/v1/me/dependants", headers=guardian)
    ward = dependants.json()[0]["id"]
    claims = await client.get("/v1/me/claims", params={"member_id": ward}, headers=guardian)
    assert [c["status"] for c in claims.json()] == ["draft"]
