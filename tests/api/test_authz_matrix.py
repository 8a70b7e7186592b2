"""Issue 10: for every route that takes an id, only the allowed callers get through (generated from the routes)."""

from __future__ import annotations

import re
import uuid

from litestar.routes import HTTPRoute

from member_api.db import fetch
from tests.helpers import facility_id, member_entry, member_headers, staff_headers
from tests.helpers.claims import HOSPITAL, add_receipt, draft_claim
from tests.helpers.facilities import change_form, codes
from tests.helpers.files import png_bytes

CALLERS = ("no_token", "other_member", "other_guardian", "other_clerk", "reviewer", "officer", "own_clerk", "owner")
AGENCY = {"officer"}
# Path template -> callers allowed. A new route with an id and no line here fails the test.
ALLOWED: dict[str, set[str]] = {
    "/v1/facilities/{facility_id:int}": set(CALLERS),
    "/v1/me/settlements/{settlement_id:int}": {"owner"},
    "/v1/me/claims/{claim_id:int}": {"owner"},
    "/v1/me/claims/{claim_id:int}/receipts": {"owner"},
    "/v1/me/claims/{claim_id:int}/submit": {"owner"},
    "/v1/me/claims/{claim_id:int}/receipts/{receipt_id:int}": {"owner"},
    "/v1/me/designation/change-requests/{request_id:int}/withdraw": {"owner"},
    "/v1/review/change-requests/{request_id:int}/decision": {"reviewer", "own_clerk"},
    "/v1/review/claims/{claim_id:int}": {"reviewer"},
    "/v1/review/claims/{claim_id:int}/receipts/{receipt_id:int}": {"reviewer"},
    "/v1/review/claims/{claim_id:int}/decision": {"reviewer"},
    "/v1/review/claims/{claim_id:int}/review": {"reviewer"},
    "/v1/counter/settlements/{settlement_id:int}/reversal": {"own_clerk"},
    "/v1/counter/family-grants/{grant_id:int}/confirm": {"own_clerk", "other_clerk"},
    "/v1/me/family/grants/{grant_id:int}/confirm": {"owner"},
    "/v1/me/family/grants/{grant_id:int}/revoke": {"owner"},
    "/v1/me/disputes/{dispute_id:int}": {"owner"},
    "/v1/review/disputes/{dispute_id:int}": {"reviewer"},
    "/v1/review/disputes/{dispute_id:int}/photo": {"reviewer"},
    "/v1/review/disputes/{dispute_id:int}/take": {"reviewer"},
    "/v1/review/disputes/{dispute_id:int}/decision": {"reviewer"},
    "/v1/agency/capitation/{year:int}/{month:int}/close": AGENCY,
    "/v1/agency/capitation/{year:int}/{month:int}/statements": AGENCY,
    "/v1/agency/capitation/{year:int}/{month:int}/statements.csv": AGENCY,
    "/v1/agency/capitation/{year:int}/{month:int}/statements.xlsx": AGENCY,
    "/v1/agency/capitation/{year:int}/settle": AGENCY,
    "/v1/agency/capitation/{year:int}/statements": AGENCY,
    "/v1/agency/capitation/{year:int}/statements.csv": AGENCY,
    "/v1/agency/capitation/{year:int}/statements.xlsx": AGENCY,
    "/v1/agency/reports/{year:int}/{month:int}": AGENCY,
    "/v1/agency/reports/{year:int}/{month:int}/confirm": {"own_clerk", "other_clerk"},
    "/v1/agency/reports/{year:int}/{month:int}/institutions/{institution_id:int}": {"officer", "own_clerk"},
    "/v1/agency/reports/{year:int}/{month:int}/institutions/{institution_id:int}/report.csv": {"officer", "own_clerk"},
    "/v1/agency/reports/{year:int}/{month:int}/institutions/{institution_id:int}/report.xlsx": {"officer", "own_clerk"},
    "/v1/agency/assessment/{year:int}": AGENCY,
    "/v1/agency/assessment/{year:int}/indicators.csv": AGENCY,
    "/v1/agency/assessment/{year:int}/indicators.xlsx": AGENCY,
    "/v1/agency/samples/{year:int}/{month:int}": AGENCY,
    "/v1/agency/samples/{year:int}/{month:int}/check": AGENCY,
    "/v1/agency/adjustment-fund/{year:int}": AGENCY,
    "/v1/agency/adjustment-fund/{year:int}/ledger.csv": AGENCY,
    "/v1/agency/adjustment-fund/{year:int}/ledger.xlsx": AGENCY,
    "/v1/agency/quality/{year:int}": AGENCY,
    "/v1/agency/quality/{year:int}/institutions/{institution_id:int}": AGENCY,
    "/v1/agency/reports/{year:int}/{month:int}/submissions": {"own_clerk", "other_clerk"},
    "/v1/agency/reports/{year:int}/{month:int}/submissions.csv": {"own_clerk", "other_clerk"},
    "/v1/agency/reports/{year:int}/{month:int}/institutions/{institution_id:int}/submission": {"officer", "own_clerk"},
}
DENIED = {401, 403, 404}


def id_routes(app) -> list[tuple[str, str]]:
    return sorted(
        (route.path, method)
        for route in app.routes
        if isinstance(route, HTTPRoute) and "{" in route.path and route.path.startswith("/v1/")
        for method in route.methods - {"OPTIONS", "HEAD"}
    )


async def test_every_id_route_admits_only_its_callers(client):
    routes = id_routes(client.app)
    assert {path for path, _ in routes} == set(ALLOWED), "add the new route to ALLOWED"
    entry = member_entry(client, "SG0000000003")
    ids = await codes(client)
    owner = await member_headers(client, "SG0000000003")
    await client.put(
        "/v1/me/designation", json={"institution_id": ids["wj_inst"], "station_id": ids["wj_station"]}, headers=owner
    )
    request_id = (
        await client.post(
            "/v1/me/designation/change-requests",
            data=change_form(ids),
            headers=owner,
            files=[("evidence", ("a.png", png_bytes(), "image/png"))],
        )
    ).json()["id"]
    own_clerk = await staff_headers(client, "clerk_wj_xh")
    settlement = (
        await client.post(
            "/v1/counter/settlements",
            headers={**own_clerk, "Idempotency-Key": "k1"},
            json={"visit_date": "2026-11-24", "id_number": entry["id_number"], "compliant_fen": 1000},
        )
    ).json()
    # A referral claim of the owner, with a receipt: the clerk of the referring facility records the referral.
    await client.put(
        "/v1/me/designation", json={"institution_id": ids["wj_inst"], "station_id": ids["wj_station"]}, headers=owner
    )
    referral = (
        await client.post(
            "/v1/counter/referrals",
            headers={**own_clerk, "Idempotency-Key": str(uuid.uuid4())},
            json={
                "id_number": entry["id_number"],
                "target_facility_id": await facility_id(client, HOSPITAL),
                "valid_from": "2026-11-24",
                "valid_to": "2026-12-31",
            },
        )
    ).json()
    claim = await draft_claim(
        client,
        owner,
        {
            "kind": "referral",
            "referral_id": referral["id"],
            "items": [
                {"care_date": "2026-11-24", "facility_id": await facility_id(client, HOSPITAL), "compliant_fen": 100}
            ],
        },
    )
    receipt_id = (await add_receipt(client, owner, claim)).json()["items"][0]["receipts"][0]["id"]
    # A relative (SG0000000002) asks to act for the owner (P1); the owner disputes the settlement with a photo (P2).
    relative = await member_headers(client, "SG0000000002")
    grant = await client.post(
        "/v1/me/family/grants", json={"id_number": entry["id_number"], "scopes": ["view"]}, headers=relative
    )
    assert grant.status_code == 202, grant.text
    [asked] = (await client.get("/v1/me/family", headers=owner)).json()["acting_for_me"]  # only the owner sees it
    dispute = await client.post(
        "/v1/me/disputes",
        data={"settlement_id": str(settlement["id"]), "reason": "not_me"},
        files=[("photo", ("p.png", png_bytes(), "image/png"))],
        headers=owner,
    )
    assert dispute.status_code == 201, dispute.text

    headers = {
        "no_token": {},
        "other_member": await member_headers(client, "SG0000000001"),
        "other_guardian": await member_headers(client, "SG0000000004"),
        "other_clerk": await staff_headers(client, "clerk_zj_dh"),
        "reviewer": await staff_headers(client, "reviewer_agency"),
        "officer": await staff_headers(client, "officer_agency"),
        "own_clerk": own_clerk,
        "owner": owner,
    }
    # Agency state the id routes read: a drawn review sample and a settled year (the year's books, empty here).
    drawn = await client.post("/v1/agency/samples/2026/10", headers=headers["officer"])
    assert drawn.status_code == 200, drawn.text
    submitted = await client.post(
        "/v1/agency/reports/2026/10/submissions",
        json={
            "lines": [
                {"facility_code": "H44020300001", "visits": 0, "bill_total_fen": 0, "fund_fen": 0, "member_fen": 0}
            ]
        },
        headers={**own_clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert submitted.status_code == 201, submitted.text
    await fetch(
        "INSERT INTO capitation_year_end (year, watermark, settled_at, settled_by) VALUES (2026, 0, {}, 'test')",
        client.clock.now(),
    )
    values = {
        "facility_id": ids["inst"],
        "settlement_id": settlement["id"],
        "claim_id": claim["id"],
        "receipt_id": receipt_id,
        "request_id": request_id,
        "grant_id": asked["id"],
        "dispute_id": dispute.json()["id"],
        "year": 2026,
        "month": 10,
        "institution_id": ids["wj_inst"],
    }
    line = {"facility_code": "H44020300001", "visits": 0, "bill_total_fen": 0, "fund_fen": 0, "member_fen": 0}
    bodies = {
        "/v1/agency/reports/{year:int}/{month:int}/submissions": {"json": {"lines": [line]}},
        "/v1/review/change-requests/{request_id:int}/decision": {"json": {"decision": "reject"}},
        "/v1/review/claims/{claim_id:int}/decision": {
            "json": {"items": [{"item_id": claim["items"][0]["id"], "decision": "reject"}]}
        },
        "/v1/counter/settlements/{settlement_id:int}/reversal": {"json": {"reason": "test"}},
        "/v1/counter/family-grants/{grant_id:int}/confirm": {"json": {"id_number": entry["id_number"]}},
        "/v1/review/disputes/{dispute_id:int}/decision": {"json": {"decision": "reject", "reason": "test"}},
        "/v1/me/claims/{claim_id:int}/receipts": {
            "data": {"item_id": str(claim["items"][0]["id"])},
            "files": [("files", ("r.png", png_bytes(), "image/png"))],
        },
    }
    private = [entry["insurance_no"], entry["name"], "黄*"]
    for path, method in routes:
        url = re.sub(r"\{(\w+):int\}", lambda m: str(values[m.group(1)]), path)
        for caller in CALLERS:  # the allowed callers come last, so a denied one never sees state they changed
            kwargs = bodies.get(path, {"json": {}} if method == "POST" else {})
            response = await client.request(
                method, url, headers={**headers[caller], "Idempotency-Key": str(uuid.uuid4())}, **kwargs
            )
            if caller in ALLOWED[path]:
                assert response.status_code not in DENIED, (path, method, caller, response.text)
            else:
                assert response.status_code in DENIED, (path, method, caller, response.status_code)
                assert not any(p in response.text for p in private), (path, caller)
