"""R14 facility monthly reports and R15 assessment indicators, on both databases, with downloads read back."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.helpers import facility_id, member_headers, staff_headers
from tests.helpers.agency import movement, read_csv, read_xlsx, sign_up
from tests.helpers.problems import assert_problem

WJ, WJ_STATION, LS = "H44020300001", "H44020300002", "H44020400005"


async def _october(client) -> tuple[int, int, list[int]]:
    wj, station = await facility_id(client, WJ), await facility_id(client, WJ_STATION)
    members = await sign_up(20, wj, 2026, station_id=station)
    await movement(members[0], wj, date(2026, 10, 2), 1_750, general_fee_fen=1_000, compliant_fen=1_500)
    await movement(members[1], station, date(2026, 10, 3), 1_750, general_fee_fen=500, compliant_fen=2_000)
    await movement(
        members[2], station, date(2026, 10, 30), 700, compliant_fen=1_000, non_compliant_fen=300, member_fen=600
    )
    await movement(members[3], station, date(2026, 11, 1), 999)  # November: not in October's report
    return wj, station, members


@pytest.mark.clock_at(datetime(2026, 11, 4, 2, 0, tzinfo=UTC))
async def test_r14_clerk_confirms_by_the_5th_and_officer_sees_who_has_not(client):
    wj, station, _ = await _october(client)
    clerk = await staff_headers(client, "clerk_wj_xh")
    report = (await client.get(f"/v1/agency/reports/2026/10/institutions/{wj}", headers=clerk)).json()
    assert report["due_date"] == "2026-11-05" and report["confirmation"] is None
    assert report["totals"] == {
        "visits": 3,
        "general_fee_fen": 1_500,
        "compliant_fen": 4_500,
        "non_compliant_fen": 300,
        "bill_total_fen": 6_300,
        "fund_fen": 4_200,
        "member_fen": 600,
    }
    lines = {r["facility_id"]: r for r in report["by_station"]}
    assert lines[wj]["visits"] == 1 and lines[station]["visits"] == 2 and lines[station]["fund_fen"] == 2_450
    tiers = {r["kind"]: r for r in report["by_tier"]}
    assert tiers["township_center"]["visits"] == 1 and tiers["village_station"]["visits"] == 2

    officer = await staff_headers(client, "officer_agency")
    before = (await client.get("/v1/agency/reports/2026/10", headers=officer)).json()
    assert before["confirmed"] == 0 and wj in [i["institution"]["id"] for i in before["items"]]
    confirmed = await client.post("/v1/agency/reports/2026/10/confirm", headers=clerk)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["confirmation"]["on_time"] is True
    assert confirmed.json()["confirmation"]["fund_fen"] == 4_200
    again = await client.post("/v1/agency/reports/2026/10/confirm", headers=clerk)
    assert again.json()["confirmation"] == confirmed.json()["confirmation"]
    missing = (await client.get("/v1/agency/reports/2026/10?confirmed=false", headers=officer)).json()
    assert wj not in [i["institution"]["id"] for i in missing["items"]]
    assert missing["not_confirmed"] == len(missing["items"]) > 0 and not any(i["overdue"] for i in missing["items"])
    done = (await client.get("/v1/agency/reports/2026/10?confirmed=true", headers=officer)).json()
    assert [i["institution"]["id"] for i in done["items"]] == [wj]

    client.clock.at = datetime(2026, 11, 6, 2, 0, tzinfo=UTC)
    officer = await staff_headers(client, "officer_agency")
    late = (await client.get("/v1/agency/reports/2026/10?confirmed=false", headers=officer)).json()
    assert all(i["overdue"] for i in late["items"])


async def test_r14_a_clerk_sees_only_their_own_institutions_report(client):
    wj, _, _ = await _october(client)
    station_clerk = await staff_headers(client, "clerk_zj_dh_station")
    other = await staff_headers(client, "clerk_zj_dh")
    path = f"/v1/agency/reports/2026/10/institutions/{wj}"
    assert (await client.get(path, headers=await staff_headers(client, "clerk_wj_xh"))).status_code == 200
    assert_problem(await client.get(path, headers=other), 404, "not_found")
    assert_problem(await client.get(path + "/report.csv", headers=other), 404)
    zj = await facility_id(client, "H44020400001")
    assert (await client.get(f"/v1/agency/reports/2026/10/institutions/{zj}", headers=station_clerk)).status_code == 200
    assert_problem(await client.get(path, headers=await staff_headers(client, "reviewer_agency")), 403, "forbidden")
    assert_problem(await client.get(path, headers=await member_headers(client, "SG0000000001")), 403, "forbidden")
    officer = await staff_headers(client, "officer_agency")
    assert_problem(await client.get(f"/v1/agency/reports/2026/11/institutions/{wj}", headers=officer), 409)


async def test_r14_report_downloads_read_back_cell_by_cell(client):
    wj, _, _ = await _october(client)
    officer = await staff_headers(client, "officer_agency")
    response = await client.get(f"/v1/agency/reports/2026/10/institutions/{wj}/report.csv", headers=officer)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = read_csv(response.content)
    assert table[0] == [
        "机构编码",
        "机构名称",
        "机构类别",
        "级别",
        "就诊人次",
        "一般诊疗费(元)",
        "合规费用(元)",
        "不合规费用(元)",
        "医疗费用总额(元)",
        "统筹支付(元)",
        "个人支付(元)",
    ]
    assert table[1][0] == WJ and table[1][4:] == ["1", "10.00", "15.00", "0.00", "25.00", "17.50", "0.00"]
    station_line = next(r for r in table if r[0] == WJ_STATION)
    assert station_line[2:] == ["village_station", "primary", "2", "5.00", "30.00", "3.00", "38.00", "24.50", "6.00"]
    assert table[-1][0] == "合计" and table[-1][4:] == ["3", "15.00", "45.00", "3.00", "63.00", "42.00", "6.00"]
    sheets = read_xlsx(
        (await client.get(f"/v1/agency/reports/2026/10/institutions/{wj}/report.xlsx", headers=officer)).content
    )
    assert list(sheets) == ["按机构", "按级别"]
    assert sheets["按机构"][0] == table[0]
    cells = sheets["按机构"][-1]
    assert cells[0] == "合计" and cells[4] == 3 and [float(c) for c in cells[5:]] == [15, 45, 3, 63, 42, 6]
    tiers = {r[0]: r for r in sheets["按级别"][1:]}
    assert tiers["village_station"][2] == 2 and float(tiers["village_station"][7]) == 24.5


async def test_r15_indicators_per_institution_with_growth_and_cost_structure(client):
    wj = await facility_id(client, WJ)
    members = await sign_up(10, wj, 2026)
    await sign_up(1, wj, 2025)
    await movement(members[0], wj, date(2025, 5, 1), 1_000, compliant_fen=2_000)  # 2025: 1 visit, 20.00 a visit
    await movement(members[0], wj, date(2026, 3, 1), 1_750, general_fee_fen=1_000, compliant_fen=1_500)
    await movement(members[1], wj, date(2026, 4, 1), 700, compliant_fen=1_000, non_compliant_fen=500)
    officer = await staff_headers(client, "officer_agency")
    data = (await client.get("/v1/agency/assessment/2026", params={"institution_id": wj}, headers=officer)).json()
    assert data["as_of"] == "2026-11-24"
    row = data["items"][0]
    assert row["headcount"] == 10 and row["visits"] == 2
    assert row["visit_rate_bp"] == 2_000  # 2 visits / 10 members = 20.00%
    assert row["bill_total_fen"] == 4_000 and row["avg_cost_per_visit_fen"] == 2_000
    assert row["previous_avg_cost_per_visit_fen"] == 2_000 and row["avg_cost_growth_bp"] == 0
    assert (row["general_fee_share_bp"], row["compliant_share_bp"], row["non_compliant_share_bp"]) == (
        2_500,
        6_250,
        1_250,
    )
    assert row["referrals"] == 0 and row["referral_rate_bp"] == 0
    table = read_csv((await client.get("/v1/agency/assessment/2026/indicators.csv", headers=officer)).content)
    assert table[0][:5] == ["机构编码", "机构名称", "签约人数", "就诊人次", "门诊就诊率(%)"]
    line = next(r for r in table[1:] if r[0] == WJ)
    assert line[2:] == [
        "10",
        "2",
        "20.00",
        "0",
        "0.00",
        "40.00",
        "24.50",
        "20.00",
        "20.00",
        "0.00",
        "25.00",
        "62.50",
        "12.50",
        "0",
        "0.0",
    ]
    sheets = read_xlsx((await client.get("/v1/agency/assessment/2026/indicators.xlsx", headers=officer)).content)
    cells = next(r for r in sheets["年度考核指标"][1:] if r[0] == WJ)
    assert cells[2:4] == [10, 2] and float(cells[4]) == 20.0 and float(cells[13]) == 62.5
    other = next(r for r in table[1:] if r[0] == LS)
    assert other[2:5] == ["0", "0", ""]  # no headcount: no rate rather than a division by zero
