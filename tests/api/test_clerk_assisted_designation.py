"""Issue 16 (R1, R2): a clerk of a primary institution designates, or files a change request, for a resident without
a smartphone after checking the ID card; audited with the clerk; the resident sees who made it."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from member_api.audit.tables import AuditEvent
from member_api.facilities.tables import Designation
from member_api.jobs.demo import demo_id
from tests.helpers import member_entry, member_headers, staff_headers
from tests.helpers.facilities import codes
from tests.helpers.files import PDF, png_bytes
from tests.helpers.problems import assert_problem

XIHE = "武江区西河镇卫生院"


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def _record(client, clerk, id_number, station_id, headers=None):
    return await client.post(
        "/v1/counter/designations",
        json={"id_number": id_number, "station_id": station_id},
        headers={**clerk, **(headers or key())},
    )


async def test_r2_clerk_records_first_designation_and_files_a_change_request_end_to_end(client):
    ids = await codes(client)
    resident = member_entry(client, "SG0000000003")  # 黄伟明, no designation yet
    clerk = await staff_headers(client, "clerk_wj_xh")  # 西河镇卫生院, a township centre

    same_key = key()
    recorded = await _record(client, clerk, resident["id_number"], ids["wj_station"], same_key)
    assert recorded.status_code == 201, recorded.text
    assert recorded.headers["cache-control"] == "no-store"
    body = recorded.json()
    assert body["designation"]["institution"]["id"] == ids["wj_inst"]
    assert body["designation"]["station"]["id"] == ids["wj_station"]
    assert body["designation"]["made_by"] == {"role": "clerk", "facility_id": ids["wj_inst"], "facility_name": XIHE}
    replay = await _record(client, clerk, resident["id_number"], ids["wj_station"], same_key)
    assert replay.json() == body and replay.headers["idempotent-replayed"] == "true"
    assert await Designation.count().where(Designation.made_by.like("staff:%")) == 1  # the replay wrote nothing
    assert_problem(
        await _record(client, clerk, resident["id_number"], ids["wj_station"]), 409, "change_request_required"
    )
    chosen = await AuditEvent.select().where(AuditEvent.action == "designation_chosen")
    assert len(chosen) == 1 and chosen[0]["actor"].startswith("staff:")
    assert str(body["designation"]["member_id"]) == chosen[0]["subject_id"]

    # The resident (who may log in later, on a relative's phone) sees who made it.
    headers = await member_headers(client, "SG0000000003")
    history = (await client.get("/v1/me/designation/history", headers=headers)).json()
    assert [h["made_by"]["role"] for h in history] == ["clerk"]
    assert history[0]["made_by"]["facility_name"] == XIHE

    # The resident moves to 浈江区; the clerk scans the lease and files the change request for them.
    form = {
        "id_number": resident["id_number"],
        "institution_id": str(ids["inst"]),
        "station_id": str(ids["station"]),
        "reason": "relocation",
    }
    evidence = [("evidence", ("lease.png", png_bytes(), "image/png")), ("evidence", ("id.pdf", PDF, "application/pdf"))]
    same_key = key()
    filed = await client.post("/v1/counter/change-requests", data=form, files=evidence, headers={**clerk, **same_key})
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert request["status"] == "pending" and len(request["evidence"]) == 2
    assert request["filed_by"] == {"role": "clerk", "facility_id": ids["wj_inst"], "facility_name": XIHE}
    replay = await client.post("/v1/counter/change-requests", data=form, files=evidence, headers={**clerk, **same_key})
    assert replay.json()["id"] == request["id"] and replay.headers["idempotent-replayed"] == "true"
    other_body = await client.post(
        "/v1/counter/change-requests", data={**form, "reason": "other"}, files=evidence, headers={**clerk, **same_key}
    )
    assert_problem(other_body, 422, "idempotency_key_reused")
    mine = (await client.get("/v1/me/designation/change-requests", headers=headers)).json()
    assert [(r["id"], r["filed_by"]["role"]) for r in mine] == [(request["id"], "clerk")]
    submitted = await AuditEvent.select().where(AuditEvent.action == "change_request_submitted")
    assert len(submitted) == 1 and submitted[0]["actor"] == chosen[0]["actor"]

    reviewer = await staff_headers(client, "reviewer_agency")
    decided = await client.post(
        f"/v1/review/change-requests/{request['id']}/decision", json={"decision": "approve"}, headers=reviewer
    )
    assert decided.json()["status"] == "approved", decided.text
    client.clock.advance(timedelta(days=1).total_seconds())
    headers = await member_headers(client, "SG0000000003")
    history = (await client.get("/v1/me/designation/history", headers=headers)).json()
    assert [(h["source"], h["made_by"]["role"]) for h in history] == [
        ("change_request", "clerk"),
        ("first_choice", "clerk"),
    ]
    assert history[0]["institution"]["id"] == ids["inst"] and history[0]["change_request_id"] == request["id"]


async def test_r2_history_says_resident_and_system_for_their_rows(client):
    ids = await codes(client)
    member = await member_headers(client)  # SG0000000001: last year's pair was carried over into this year
    history = (await client.get("/v1/me/designation/history", headers=member)).json()
    assert [h["made_by"] for h in history] == [{"role": "system", "facility_id": None, "facility_name": None}, None]
    resident = await member_headers(client, "SG0000000003")
    chosen = await client.put(
        "/v1/me/designation", json={"institution_id": ids["wj_inst"], "station_id": ids["wj_station"]}, headers=resident
    )
    assert chosen.json()["designation"]["made_by"]["role"] == "resident"


async def test_r1_r2_clerk_assisted_refusals(client):
    ids = await codes(client)
    resident = member_entry(client, "SG0000000003")
    clerk = await staff_headers(client, "clerk_wj_xh")
    for username in ("clerk_zj_dh_station", "clerk_ybrm"):  # a village station, a hospital
        other = await staff_headers(client, username)
        assert_problem(await _record(client, other, resident["id_number"], None), 403, "not_primary_institution_clerk")
    assert_problem(
        await _record(client, clerk, resident["id_number"], ids["station"]), 422, "station_of_other_institution"
    )
    assert_problem(await _record(client, clerk, resident["id_number"], None), 422, "station_required")
    unpaid = member_entry(client, "SG0000000006")
    assert_problem(await _record(client, clerk, unpaid["id_number"], ids["wj_station"]), 422, "not_eligible")
    assert_problem(await _record(client, clerk, "440203199001250000", ids["wj_station"]), 422, "invalid_id_number")
    nobody = demo_id("440203", date(1970, 1, 1), 77, "M")
    assert_problem(await _record(client, clerk, nobody, ids["wj_station"]), 404, "member_not_found")
    assert_problem(
        await client.post("/v1/counter/designations", json={"id_number": resident["id_number"]}, headers=clerk),
        400,
        "idempotency_key_missing",
    )
    resident_headers = await member_headers(client, "SG0000000003")
    assert_problem(await _record(client, resident_headers, resident["id_number"], ids["wj_station"]), 403)

    # SG0000000001 is designated at 东河 (浈江区): a 西河 clerk may not file their move to another 浈江区 centre.
    designated = member_entry(client, "SG0000000001")
    form = {
        "id_number": designated["id_number"],
        "institution_id": str(ids["zj_other_inst"]),
        "station_id": str(ids["zj_other_station"]),
        "reason": "relocation",
    }
    refused = await client.post(
        "/v1/counter/change-requests",
        data=form,
        files=[("evidence", ("lease.png", png_bytes(), "image/png"))],
        headers={**clerk, **key()},
    )
    assert_problem(refused, 403, "not_member_facility")
    not_evidence = await client.post(
        "/v1/counter/change-requests",
        data={**form, "institution_id": str(ids["wj_inst"]), "station_id": str(ids["wj_station"])},
        files=[("evidence", ("notes.txt", b"plain text", "text/plain"))],
        headers={**clerk, **key()},
    )
    assert_problem(not_evidence, 422, "file_type_not_allowed")
    assert await Designation.count().where(Designation.made_by.like("staff:%")) == 0
