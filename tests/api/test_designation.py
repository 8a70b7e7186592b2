"""Issue 6 (R2, R3): find a facility, choose the pair, carry-over, change requests with evidence, review."""

from __future__ import annotations

from datetime import timedelta

from member_api.facilities.designation import headcount
from tests.helpers import member_headers, staff_headers
from tests.helpers.facilities import change_form, codes
from tests.helpers.files import PDF, png_bytes
from tests.helpers.problems import assert_problem


async def test_facility_search_filters_text_and_distance(client):
    page = (await client.get("/v1/facilities", params={"division": "南雄市", "kind": "township_center"})).json()
    assert [f["name"] for f in page["items"]] == ["南雄市珠玑镇卫生院"]
    assert (await client.get("/v1/facilities", params={"q": "粤北"})).json()["items"][0]["tier"] == "tertiary"
    near = (await client.get("/v1/facilities", params={"near": "25.117,114.311", "limit": 3})).json()
    distances = [f["distance_m"] for f in near["items"]]
    assert distances == sorted(distances) and near["items"][0]["division"] == "南雄市"
    assert near["next_cursor"]
    seen, cursor = [], None
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        body = (await client.get("/v1/facilities", params=params)).json()
        seen += [f["id"] for f in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) > 60
    assert_problem(await client.get("/v1/facilities", params={"near": "abc"}), 422)


async def test_facility_detail_lists_its_stations(client):
    ids = await codes(client)
    detail = (await client.get(f"/v1/facilities/{ids['inst']}")).json()
    assert ids["station"] in [s["id"] for s in detail["stations"]]
    assert_problem(await client.get("/v1/facilities/999999"), 404)


async def test_r2_first_choice_is_immediate_then_changes_need_a_request(client):
    ids = await codes(client)
    headers = await member_headers(client, "SG0000000003")
    chosen = await client.put(
        "/v1/me/designation", json={"institution_id": ids["wj_inst"], "station_id": ids["wj_station"]}, headers=headers
    )
    assert chosen.status_code == 200, chosen.text
    body = chosen.json()
    assert body["designation"]["institution"]["id"] == ids["wj_inst"]
    assert body["designation"]["valid_from"] == "2026-11-24" and body["change_free"] is False
    again = await client.put(
        "/v1/me/designation", json={"institution_id": ids["inst"], "station_id": ids["station"]}, headers=headers
    )
    assert_problem(again, 409, "change_request_required")


async def test_r2_pair_rules(client):
    ids = await codes(client)
    headers = await member_headers(client, "SG0000000003")
    cases = [
        ({"institution_id": ids["inst"], "station_id": ids["wj_station"]}, "station_of_other_institution"),
        ({"institution_id": ids["inst"]}, "station_required"),
        ({"institution_id": ids["school"], "station_id": ids["station"]}, "station_not_allowed"),
        ({"institution_id": ids["outside"]}, "facility_out_of_city"),
        ({"institution_id": ids["hospital"]}, "not_primary_institution"),
    ]
    for body, code in cases:
        assert_problem(await client.put("/v1/me/designation", json=body, headers=headers), 422, code)
    ok = await client.put("/v1/me/designation", json={"institution_id": ids["school"]}, headers=headers)
    assert ok.status_code == 200 and ok.json()["designation"]["station"] is None


async def test_r1_member_not_paid_up_cannot_designate(client):
    ids = await codes(client)
    headers = await member_headers(client, "SG0000000006")
    refused = await client.put(
        "/v1/me/designation", json={"institution_id": ids["inst"], "station_id": ids["station"]}, headers=headers
    )
    assert_problem(refused, 422, "not_eligible")


async def test_r2_last_years_pair_carries_over_and_first_change_is_free(client):
    ids = await codes(client)
    headers = await member_headers(client, "SG0000000001")
    current = (await client.get("/v1/me/designation", headers=headers)).json()
    assert current["designation"]["source"] == "carry_over" and current["change_free"] is True
    assert current["designation"]["institution"]["id"] == ids["inst"]
    changed = await client.put(
        "/v1/me/designation",
        json={"institution_id": ids["zj_other_inst"], "station_id": ids["zj_other_station"]},
        headers=headers,
    )
    assert changed.status_code == 200 and changed.json()["designation"]["source"] == "change"
    history = (await client.get("/v1/me/designation/history", headers=headers)).json()
    assert [h["source"] for h in history] == ["change", "carry_over", "first_choice"]
    assert history[1]["valid_to"] == "2026-11-24"


async def _designated_member(client, ids) -> dict[str, str]:
    headers = await member_headers(client, "SG0000000003")
    await client.put(
        "/v1/me/designation", json={"institution_id": ids["wj_inst"], "station_id": ids["wj_station"]}, headers=headers
    )
    return headers


async def test_change_request_approved_takes_effect_next_day(client):
    ids = await codes(client)
    headers = await _designated_member(client, ids)
    submitted = await client.post(
        "/v1/me/designation/change-requests",
        data=change_form(ids),
        files=[
            ("evidence", ("lease.png", png_bytes(), "image/png")),
            ("evidence", ("proof.pdf", PDF, "application/pdf")),
        ],
        headers=headers,
    )
    assert submitted.status_code == 201, submitted.text
    request = submitted.json()
    assert request["status"] == "pending" and len(request["evidence"]) == 2
    second = await client.post(
        "/v1/me/designation/change-requests",
        data=change_form(ids),
        files=[("evidence", ("a.png", png_bytes(), "image/png"))],
        headers=headers,
    )
    assert_problem(second, 409, "change_request_open")

    other_clerk = await staff_headers(client, "clerk_zj_dh")
    assert (await client.get("/v1/review/change-requests", headers=other_clerk)).json() == []
    assert_problem(
        await client.post(
            f"/v1/review/change-requests/{request['id']}/decision", json={"decision": "approve"}, headers=other_clerk
        ),
        404,
    )
    own_clerk = await staff_headers(client, "clerk_wj_xh")
    assert [r["id"] for r in (await client.get("/v1/review/change-requests", headers=own_clerk)).json()] == [
        request["id"]
    ]
    decided = await client.post(
        f"/v1/review/change-requests/{request['id']}/decision",
        json={"decision": "approve", "comment": "租房合同已核实"},
        headers=own_clerk,
    )
    assert decided.json()["status"] == "approved" and decided.json()["effective_from"] == "2026-11-25"

    today = (await client.get("/v1/me/designation", headers=headers)).json()
    assert today["designation"]["institution"]["id"] == ids["wj_inst"]
    client.clock.advance(timedelta(days=1).total_seconds())
    headers = await member_headers(client, "SG0000000003")  # yesterday's access token has expired
    tomorrow = (await client.get("/v1/me/designation", headers=headers)).json()
    assert tomorrow["designation"]["institution"]["id"] == ids["inst"]
    assert tomorrow["designation"]["change_request_id"] == request["id"]
    mine = (await client.get("/v1/me/designation/change-requests", headers=headers)).json()
    assert mine[0]["status"] == "approved" and mine[0]["decision_comment"] == "租房合同已核实"


async def test_change_request_rejected_and_withdrawn(client):
    ids = await codes(client)
    headers = await _designated_member(client, ids)
    reviewer = await staff_headers(client, "reviewer_agency")
    first = (
        await client.post(
            "/v1/me/designation/change-requests",
            data=change_form(ids),
            files=[("evidence", ("a.png", png_bytes(), "image/png"))],
            headers=headers,
        )
    ).json()
    rejected = await client.post(
        f"/v1/review/change-requests/{first['id']}/decision",
        json={"decision": "reject", "comment": "证明材料不清晰"},
        headers=reviewer,
    )
    assert rejected.json()["status"] == "rejected"
    current = (await client.get("/v1/me/designation", headers=headers)).json()
    assert current["designation"]["institution"]["id"] == ids["wj_inst"]
    second = (
        await client.post(
            "/v1/me/designation/change-requests",
            data=change_form(ids),
            files=[("evidence", ("a.png", png_bytes(), "image/png"))],
            headers=headers,
        )
    ).json()
    withdrawn = await client.post(f"/v1/me/designation/change-requests/{second['id']}/withdraw", headers=headers)
    assert withdrawn.json()["status"] == "withdrawn"
    listed = (await client.get("/v1/review/change-requests", params={"status": "pending"}, headers=reviewer)).json()
    assert listed == []


async def test_bad_evidence_files_are_refused_with_nothing_stored(client):
    from member_api.facilities.tables import ChangeRequest, EvidenceFile

    ids = await codes(client)
    headers = await _designated_member(client, ids)
    blobs = client.settings.data_dir + "/blobs"
    import os

    before = sum(len(files) for _, _, files in os.walk(blobs))
    bad = [
        ([("evidence", ("x.png", b"MZ\x90\x00 not an image", "image/png"))], "file_type_not_allowed"),
        ([("evidence", ("x.png", b"", "image/png"))], "file_empty"),
        (
            [
                ("evidence", ("ok.png", png_bytes(), "image/png")),
                ("evidence", ("x.png", b"\x89PNG\r\n\x1a\nbroken", "image/png")),
            ],
            "file_corrupt",
        ),
        ([("evidence", (f"{i}.png", png_bytes(), "image/png")) for i in range(6)], "too_many_files"),
        (
            [("evidence", ("big.pdf", PDF + b"0" * (client.settings.max_upload_bytes + 1), "application/pdf"))],
            "file_too_large",
        ),
    ]
    for files, code in bad:
        assert_problem(
            await client.post(
                "/v1/me/designation/change-requests", data=change_form(ids), files=files, headers=headers
            ),
            422,
            code,
        )
    assert await ChangeRequest.count() == 0 and await EvidenceFile.count() == 0
    assert sum(len(files) for _, _, files in os.walk(blobs)) == before


async def test_headcount_follows_mid_month_changes(client):
    from datetime import date

    ids = await codes(client)
    await _designated_member(client, ids)  # SG3 designates wj_inst on 2026-11-24
    member1 = await member_headers(client, "SG0000000001")  # carried over at inst since 2026-01-01
    await client.get("/v1/me/designation", headers=member1)
    assert (await headcount(date(2026, 11, 23))).get(ids["wj_inst"], 0) == 0
    on_day = await headcount(date(2026, 11, 24))
    assert on_day[ids["wj_inst"]] == 1 and on_day[ids["inst"]] == 1
