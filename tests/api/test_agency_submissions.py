"""R14 as a report the facility submits (issue 32 item 4), on both databases: its own statistics by API or CSV
upload compared line by line with the system's; a confirmed month changed later is flagged with the settlements."""

from __future__ import annotations

import uuid
from datetime import date

from tests.helpers import facility_id, staff_headers
from tests.helpers.agency import movement, sign_up
from tests.helpers.problems import assert_problem

WJ, WJ_STATION = "H44020300001", "H44020300002"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def _october(client) -> tuple[int, int, list[int]]:
    wj, station = await facility_id(client, WJ), await facility_id(client, WJ_STATION)
    members = await sign_up(5, wj, 2026, station_id=station)
    first = await movement(members[0], wj, date(2026, 10, 2), 1_750, general_fee_fen=1_000, compliant_fen=1_500)
    await movement(members[1], station, date(2026, 10, 3), 1_750, general_fee_fen=500, compliant_fen=2_000)
    return wj, station, [first]


async def test_r14_facility_submits_its_statistics_and_sees_the_differences_line_by_line(client):
    wj, _, _ = await _october(client)
    clerk = await staff_headers(client, "clerk_wj_xh")
    body = {
        "lines": [
            {"facility_code": WJ, "visits": 1, "bill_total_fen": 2_500, "fund_fen": 1_750, "member_fen": 0},
            {"facility_code": WJ_STATION, "visits": 2, "bill_total_fen": 2_500, "fund_fen": 1_750, "member_fen": 0},
        ]
    }
    sent = await client.post("/v1/agency/reports/2026/10/submissions", json=body, headers={**clerk, **_key()})
    assert sent.status_code == 201, sent.text
    data = sent.json()
    assert data["matches"] is False and data["source"] == "api" and data["submitted_by_name"] == "clerk_wj_xh"
    lines = {line["facility_code"]: line for line in data["lines"]}
    assert lines[WJ]["differences"] == []
    assert lines[WJ_STATION]["differences"] == [{"figure": "visits", "submitted": 2, "system": 1, "difference": 1}]

    wrong = {"lines": [{**body["lines"][0], "facility_code": "H44020400005"}]}
    refused = await client.post("/v1/agency/reports/2026/10/submissions", json=wrong, headers={**clerk, **_key()})
    assert assert_problem(refused, 422, "submission_invalid")["errors"][0]["field"] == "lines[0].facility_code"

    # The same as an upload in the report download's own headings, saved by a spreadsheet program (GB18030).
    csv_text = (
        "机构编码,机构名称,就诊人次,医疗费用总额(元),统筹支付(元),个人支付(元)\r\n"
        f"{WJ},卫生院,1,25.00,17.50,0.00\r\n{WJ_STATION},卫生站,1,25.00,17.50,0\r\n合计,,2,50.00,35.00,0.00\r\n"
    )
    uploaded = await client.post(
        "/v1/agency/reports/2026/10/submissions.csv",
        content=csv_text.encode("gb18030"),
        headers={**clerk, **_key(), "Content-Type": "text/csv"},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["matches"] is True and uploaded.json()["source"] == "upload"
    bad = await client.post(
        "/v1/agency/reports/2026/10/submissions.csv",
        content="机构编码,就诊人次\r\nx,1\r\n".encode(),
        headers={**clerk, **_key(), "Content-Type": "text/csv"},
    )
    assert_problem(bad, 422, "submission_file_invalid")

    officer = await staff_headers(client, "officer_agency")
    status = (await client.get("/v1/agency/reports/2026/10", headers=officer)).json()
    row = next(i for i in status["items"] if i["institution"]["id"] == wj)
    assert (row["submitted"], row["submission_matches"]) == (True, True)
    seen = await client.get(f"/v1/agency/reports/2026/10/institutions/{wj}/submission", headers=officer)
    assert seen.json()["id"] == uploaded.json()["id"]
    other = await staff_headers(client, "clerk_zj_dh")
    assert_problem(await client.get(f"/v1/agency/reports/2026/10/institutions/{wj}/submission", headers=other), 404)


async def test_r14_a_confirmed_month_changed_later_is_flagged_with_the_settlements_that_changed_it(client):
    wj, _, (first,) = await _october(client)
    clerk = await staff_headers(client, "clerk_wj_xh")
    assert (await client.post("/v1/agency/reports/2026/10/confirm", headers=clerk)).status_code == 200
    report = (await client.get(f"/v1/agency/reports/2026/10/institutions/{wj}", headers=clerk)).json()
    assert report["changed_since_confirmation"] is None
    reversal = await client.post(
        f"/v1/counter/settlements/{first}/reversal", json={"reason": "重复录入"}, headers={**clerk, **_key()}
    )
    assert reversal.status_code == 201, reversal.text

    report = (await client.get(f"/v1/agency/reports/2026/10/institutions/{wj}", headers=clerk)).json()
    change = report["changed_since_confirmation"]
    assert change["confirmed"] == {"visits": 2, "bill_total_fen": 5_000, "fund_fen": 3_500, "member_fen": 0}
    assert change["now"] == {"visits": 1, "bill_total_fen": 2_500, "fund_fen": 1_750, "member_fen": 0}
    assert [(s["settlement_id"], s["kind"], s["reverses"], s["visit_date"]) for s in change["settlements"]] == [
        (reversal.json()["id"], "reversal", first, "2026-10-02")
    ]
    officer = await staff_headers(client, "officer_agency")
    status = (await client.get("/v1/agency/reports/2026/10", headers=officer)).json()
    flagged = [i["institution"]["id"] for i in status["items"] if i["changed_since_confirmation"]]
    assert flagged == [wj]
