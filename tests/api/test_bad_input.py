"""Issue 10: a catalogue of hostile input. Every answer is a 4xx problem+json and nothing is stored."""

from __future__ import annotations

import json
import uuid

import pytest

from member_api.audit.tables import AuditEvent
from member_api.claims.tables import Claim
from member_api.facilities.tables import ChangeRequest
from member_api.ledger.tables import Movement
from tests.helpers import member_entry, member_headers, staff_headers
from tests.helpers.problems import assert_problem

DEEP = "[" * 5000 + "]" * 5000
CASES = [
    ("deep JSON", DEEP, None),
    ("huge string", json.dumps({"visit_date": "2026-11-24", "id_number": "4" * 200_000}), None),
    ("negative amount", {"visit_date": "2026-11-24", "compliant_fen": -100}, 422),
    ("overflowing amount", {"visit_date": "2026-11-24", "compliant_fen": 2**70}, 422),
    ("float amount", {"visit_date": "2026-11-24", "compliant_fen": 1e308}, 422),
    ("NaN", '{"visit_date": "2026-11-24", "compliant_fen": NaN}', 400),
    ("date far in the past", {"visit_date": "0001-01-01"}, 422),
    ("date far in the future", {"visit_date": "9999-12-31"}, 422),
    ("not a date", {"visit_date": "yesterday"}, 422),
    ("array body", [], 422),
    ("null body", "null", None),
    ("unicode in id number", {"visit_date": "2026-11-24", "id_number": "４４０２０４１９８５０４１２０１３２"}, 422),
    ("control characters", {"visit_date": "2026-11-24", "id_number": "\u0000\u202e1234"}, 422),
    ("lone surrogate", '{"visit_date": "2026-11-24", "id_number": "\\ud800"}', None),
]


@pytest.mark.parametrize(("label", "body", "status"), CASES, ids=[c[0] for c in CASES])
async def test_hostile_settlement_bodies(client, label, body, status):
    clerk = await staff_headers(client, "clerk_zj_dh")
    entry = member_entry(client, "SG0000000001")
    if isinstance(body, dict) and "id_number" not in body:
        body = {**body, "id_number": entry["id_number"]}
    raw = body if isinstance(body, str) else json.dumps(body)
    before = await AuditEvent.count()
    response = await client.post(
        "/v1/counter/settlements",
        content=raw.encode("utf-8", "surrogatepass"),
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4()), "content-type": "application/json"},
    )
    assert 400 <= response.status_code < 500, (label, response.status_code, response.text[:300])
    assert_problem(response, response.status_code)
    if status:
        assert response.status_code == status, (label, response.text[:300])
    assert await Movement.count() == 0
    assert await AuditEvent.count() == before


async def test_wrong_content_types(client):
    member = await member_headers(client)
    as_form = await client.post(
        "/v1/me/claims", data={"kind": "newborn"}, headers={**member, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert 400 <= as_form.status_code < 500
    assert_problem(as_form, as_form.status_code)
    as_text = await client.put(
        "/v1/me/designation", content=b"institution_id=1", headers={**member, "content-type": "text/plain"}
    )
    assert 400 <= as_text.status_code < 500
    json_upload = await client.post("/v1/me/designation/change-requests", json={"institution_id": 1}, headers=member)
    assert 400 <= json_upload.status_code < 500
    assert await Claim.count() == 0 and await ChangeRequest.count() == 0


async def test_unicode_names_are_handled(client):
    member = await member_headers(client, "SG0000000003")
    entry = member_entry(client, "SG0000000003")
    for name in ("黄伟明\u200b", "𠀀𠀁", "ＨＵＡＮＧ", "黄" * 100, "\u202e明伟黄"):
        response = await client.post(
            "/v1/me/binding", json={"id_number": entry["id_number"], "name": name}, headers=member
        )
        assert response.status_code in (404, 429), (name, response.text)
        assert_problem(response, response.status_code)


async def test_oversized_path_and_query_values(client):
    member = await member_headers(client)
    for response in (
        await client.get(f"/v1/me/settlements/{10**30}", headers=member),
        await client.get("/v1/me/settlements", params={"limit": 10**9}, headers=member),
        await client.get("/v1/me/benefits", params={"year": -5}, headers=member),
        await client.get("/v1/facilities", params={"q": "x" * 5000}),
    ):
        body = assert_problem(response, 422, "validation_error")
        assert body["errors"][0]["field"] in ("settlement_id", "limit", "year", "q")
