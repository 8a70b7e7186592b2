"""R13 capitation books through the API, on both databases: monthly close, idempotency, immutability with a later
reversal (adjustment line), station sign-ups, year-end on both sides of 80%, downloads read back cell by cell."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from tests.helpers import facility_id, staff_headers
from tests.helpers.agency import movement, read_csv, read_xlsx, sign_up, yuan
from tests.helpers.problems import assert_problem

WJ, WJ_STATION, LS = "H44020300001", "H44020300002", "H44020400005"


async def officer(client) -> dict[str, str]:
    return await staff_headers(client, "officer_agency")


def item(books: dict, institution_id: int) -> dict:
    return next(i for i in books["items"] if i["institution"]["id"] == institution_id)


async def test_r13_e8_close_prepays_by_last_months_headcount_and_is_idempotent(client):
    wj = await facility_id(client, WJ)
    await sign_up(1200, wj, 2026, valid_from=date(2026, 1, 1))
    await sign_up(30, wj, 2026, valid_from=date(2026, 10, 10))  # signed up in October: counted at October's end
    headers = await officer(client)
    first = await client.post("/v1/agency/capitation/2026/10/close", headers=headers)
    assert first.status_code == 200, first.text
    row = item(first.json(), wj)
    # E8: 1,200 sign-ups last month (end of September) -> 1,200 x 5.00 x 80% = 4,800.00
    assert row["prepayment_headcount"] == 1200
    assert row["prepayment_fen"] == 480_000
    assert row["quality_guarantee_fen"] == 30_000  # 5%
    assert row["adjustment_fund_fen"] == 90_000  # 15%
    assert row["headcount"] == 1230
    # September cleared: no visits, so nothing cleared and September's prepayment (by August's end) comes back.
    assert (row["cleared_year"], row["cleared_month"]) == (2026, 9)
    assert row["cleared_prepayment_fen"] == 480_000 and row["cleared_actual_fen"] == 0
    assert row["clearing_balance_fen"] == -480_000 and row["payable_fen"] == 0
    again = await client.post("/v1/agency/capitation/2026/10/close", headers=headers)
    assert again.status_code == 200 and again.json() == first.json()
    books = (await client.get("/v1/agency/capitation", headers=headers)).json()
    assert [c["month"] for c in books["closes"]] == [10] and books["next_open"] == "2026-11"


async def test_r13_month_cannot_close_before_it_ended_nor_out_of_order(client):
    headers = await officer(client)
    assert_problem(await client.post("/v1/agency/capitation/2026/11/close", headers=headers), 409, "month_not_ended")
    assert (await client.post("/v1/agency/capitation/2026/10/close", headers=headers)).status_code == 200
    assert_problem(await client.post("/v1/agency/capitation/2026/8/close", headers=headers), 409, "month_out_of_order")
    assert_problem(await client.get("/v1/agency/capitation/2026/9/statements", headers=headers), 404)


async def test_r13_1_station_sign_ups_and_station_visits_count_for_the_running_institution(client):
    wj, station = await facility_id(client, WJ), await facility_id(client, WJ_STATION)
    members = await sign_up(40, wj, 2026, station_id=station)
    await sign_up(10, wj, 2026)
    await movement(members[0], station, date(2026, 9, 3), 1_400)
    await movement(members[1], wj, date(2026, 9, 4), 2_800)
    await movement(members[2], station, date(2026, 10, 4), 999)  # October: cleared by November's close
    books = (await client.post("/v1/agency/capitation/2026/10/close", headers=await officer(client))).json()
    row = item(books, wj)
    assert row["headcount"] == 50 and row["prepayment_headcount"] == 50
    assert row["cleared_actual_fen"] == 4_200
    assert not any(i["institution"]["id"] == station for i in books["items"])  # stations have no books of their own
    # 50 x 500 x 80% = 20,000 prepaid for September; 4,200 cleared, 5% (210) withheld.
    assert (row["cleared_prepayment_fen"], row["cleared_fen"], row["withheld_fen"]) == (20_000, 4_200, 210)
    assert row["clearing_balance_fen"] == 4_200 - 210 - 20_000


async def test_r13_closed_month_never_changes_a_later_reversal_is_an_adjustment_on_the_next_month(client):
    wj = await facility_id(client, WJ)
    members = await sign_up(10, wj, 2026)
    late = await movement(members[0], wj, date(2026, 9, 20), 2_000)
    headers = await officer(client)
    october = await client.post("/v1/agency/capitation/2026/10/close", headers=headers)
    row = item(october.json(), wj)
    assert (row["cleared_actual_fen"], row["cleared_fen"], row["withheld_fen"]) == (2_000, 2_000, 100)

    clerk = await staff_headers(client, "clerk_wj_xh")
    reversal = await client.post(
        f"/v1/counter/settlements/{late}/reversal",
        json={"reason": "duplicate upload"},
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert reversal.status_code == 201, reversal.text
    reversal_id = reversal.json()["id"]

    client.clock.at = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    headers = await officer(client)
    assert (await client.get("/v1/agency/capitation/2026/10/statements", headers=headers)).json() == october.json()
    november = (await client.post("/v1/agency/capitation/2026/11/close", headers=headers)).json()
    assert (await client.get("/v1/agency/capitation/2026/10/statements", headers=headers)).json() == october.json()
    row = item(november, wj)
    assert row["adjustments"] == [
        {
            "touched_year": 2026,
            "touched_month": 9,
            "movements": 1,
            "actual_fen": -2_000,
            "cleared_fen": -2_000,
            "withheld_fen": -100,
            "paid_fen": -1_900,
            "cleared_here": True,
        }
    ]
    assert row["adjustment_fen"] == -1_900
    assert row["payable_fen"] == row["prepayment_fen"] + row["clearing_balance_fen"] - 1_900
    one = (
        await client.get("/v1/agency/capitation/2026/11/statements", params={"institution_id": wj}, headers=headers)
    ).json()
    assert [m["settlement_id"] for m in one["items"][0]["movements"]] == [reversal_id]
    assert one["items"][0]["movements"][0]["reverses"] == late


async def test_r13_statements_download_as_csv_and_xlsx_cell_by_cell(client):
    wj = await facility_id(client, WJ)
    members = await sign_up(25, wj, 2026)
    await movement(members[0], wj, date(2026, 9, 9), 12_345)
    headers = await officer(client)
    books = (await client.post("/v1/agency/capitation/2026/10/close", headers=headers)).json()
    row = item(books, wj)
    csv_response = await client.get("/v1/agency/capitation/2026/10/statements.csv", headers=headers)
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["content-disposition"]
    table = read_csv(csv_response.content)
    assert table[0][:4] == ["年度", "月份", "机构编码", "机构名称"] and "本月预付(元)" in table[0]
    assert len(table) == len(books["items"]) + 1
    line = next(r for r in table[1:] if r[2] == WJ)
    expected = [
        "2026",
        "10",
        WJ,
        row["institution"]["name"],
        "25",
        "25",
        yuan(row["prepayment_fen"]),  # 25 x 5.00 x 80% = 100.00
        yuan(row["quality_guarantee_fen"]),
        yuan(row["adjustment_fund_fen"]),
        "2026",
        "9",
        yuan(10_000),
        "123.45",
        "100.00",
        "5.00",
        yuan(10_000 - 500 - 10_000),
        "0.00",
        "0.00",
        yuan(row["payable_fen"]),
    ]
    assert line == expected
    assert line[6] == "100.00" and line[15] == "-5.00"

    xlsx = await client.get("/v1/agency/capitation/2026/10/statements.xlsx", headers=headers)
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheets = read_xlsx(xlsx.content)
    assert list(sheets) == ["月结算单", "调整明细"]
    rows = sheets["月结算单"]
    assert rows[0] == table[0]
    cells = next(r for r in rows[1:] if r[2] == WJ)
    assert cells[:6] == [2026, 10, WJ, row["institution"]["name"], 25, 25]
    assert [float(c) for c in cells[6:9]] == [100.0, 6.25, 18.75]
    assert [float(c) for c in cells[11:16]] == [100.0, 123.45, 100.0, 5.0, -5.0]
    assert sheets["调整明细"] == [  # headings only: no late movements at the first close
        [
            *("机构编码", "机构名称", "所涉年度", "所涉月份", "结算笔数", "实际支付变动(元)", "清算额变动(元)"),
            *("预留保证金变动(元)", "应付变动(元)", "本系统已清算"),
        ]
    ]


@pytest.mark.clock_at(datetime(2027, 2, 10, 2, 0, tzinfo=UTC))
async def test_r13_4_year_end_on_both_sides_of_80_percent(client):
    reached, below = await facility_id(client, WJ), await facility_id(client, LS)
    a = await sign_up(10, reached, 2026)
    b = await sign_up(10, below, 2026)
    # Package 10 x 60.00 = 600.00; 80% = 480.00. December's prepayment (by November's end) 10 x 5 x 80% = 40.00.
    await movement(a[0], reached, date(2026, 6, 1), 1_000)
    await movement(a[1], reached, date(2026, 12, 1), 47_000)  # 480.00 in the year: exactly 80%
    await movement(b[0], below, date(2026, 6, 1), 999)
    await movement(b[1], below, date(2026, 12, 1), 47_000)  # 479.99: below 80%
    headers = await officer(client)
    assert_problem(await client.post("/v1/agency/capitation/2026/settle", headers=headers), 409, "december_not_cleared")
    assert (await client.post("/v1/agency/capitation/2027/1/close", headers=headers)).status_code == 200
    settled = await client.post("/v1/agency/capitation/2026/settle", headers=headers)
    assert settled.status_code == 200, settled.text
    full, actual = item(settled.json(), reached), item(settled.json(), below)
    assert full["package_fen"] == 60_000 and full["actual_fen"] == 48_000
    assert full["threshold_reached"] is True
    assert (full["due_fen"], full["reward_fen"], full["returned_to_fund_fen"]) == (60_000, 12_000, 0)
    # December cleared 40.00 (2.00 withheld); the guarantee is released in full by default.
    assert (full["cleared_fen"], full["withheld_fen"], full["guarantee_released_fen"]) == (4_000, 200, 200)
    assert full["balance_fen"] == 60_000 - 4_000 + 200
    assert actual["threshold_reached"] is False
    assert (actual["due_fen"], actual["returned_to_fund_fen"], actual["reward_fen"]) == (47_999, 12_001, 0)
    assert actual["balance_fen"] == 47_999 - 4_000 + 200
    again = await client.post("/v1/agency/capitation/2026/settle", headers=headers)
    assert again.json() == settled.json()
    table = read_csv((await client.get("/v1/agency/capitation/2026/statements.csv", headers=headers)).content)
    line = next(r for r in table[1:] if r[1] == LS)
    assert line[3:9] == ["10", "1", "0.00", "600.00", "479.99", "否"]  # December cleared here; none prepaid
    assert line[9:12] == ["479.99", "0.00", "120.01"]
    sheets = read_xlsx((await client.get("/v1/agency/capitation/2026/statements.xlsx", headers=headers)).content)
    cells = next(r for r in sheets["年终结算"][1:] if r[1] == WJ)
    assert cells[3] == 10 and cells[8] == "是" and float(cells[9]) == 600.0 and float(cells[18]) == 562.0


async def test_agency_routes_refuse_residents_reviewers_and_clerks(client):
    from tests.helpers import member_headers

    denied = {
        "member": await member_headers(client, "SG0000000001"),
        "reviewer": await staff_headers(client, "reviewer_agency"),
        "clerk": await staff_headers(client, "clerk_wj_xh"),
    }
    gets = [
        "/v1/agency/capitation",
        "/v1/agency/capitation/2026/10/statements",
        "/v1/agency/capitation/2026/10/statements.csv",
        "/v1/agency/capitation/2026/statements.xlsx",
        "/v1/agency/reports/2026/10",
        "/v1/agency/assessment/2026",
        "/v1/agency/assessment/2026/indicators.csv",
        "/v1/agency/signals?year=2026&month=10",
        "/v1/agency/samples/2026/10",
    ]
    for who, headers in denied.items():
        for path in gets:
            assert_problem(await client.get(path, headers=headers), 403, "forbidden")
        for path in ("/v1/agency/capitation/2026/10/close", "/v1/agency/capitation/2026/settle"):
            assert_problem(await client.post(path, headers=headers), 403, "forbidden")
        if who != "clerk":
            assert_problem(await client.post("/v1/agency/reports/2026/10/confirm", headers=headers), 403)
    assert (await client.get("/v1/agency/capitation")).status_code == 401


async def test_officer_closes_october_2026_on_the_demo_data_and_downloads_everything(client):
    headers = await officer(client)
    zj = await facility_id(client, client.world["facilities"]["designated_institution"])
    closed = await client.post("/v1/agency/capitation/2026/10/close", headers=headers)
    assert closed.status_code == 200
    assert item(closed.json(), zj)["headcount"] == 1  # the demo member designated at 浈江区东河 (carried over)
    for path in (
        "/v1/agency/capitation/2026/10/statements",
        f"/v1/agency/capitation/2026/10/statements?institution_id={zj}",
        "/v1/agency/capitation/2026/10/statements.csv",
        "/v1/agency/capitation/2026/10/statements.xlsx",
        "/v1/agency/reports/2026/10",
        f"/v1/agency/reports/2026/10/institutions/{zj}",
        f"/v1/agency/reports/2026/10/institutions/{zj}/report.csv",
        f"/v1/agency/reports/2026/10/institutions/{zj}/report.xlsx",
        "/v1/agency/assessment/2026",
        "/v1/agency/assessment/2026/indicators.csv",
        "/v1/agency/assessment/2026/indicators.xlsx",
        "/v1/agency/signals?year=2026&month=10",
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
        if "signals" in path or "report" in path:  # member or facility detail: never cached
            assert "no-store" in response.headers["cache-control"]
    assert (await client.post("/v1/agency/samples/2026/10", headers=headers)).status_code == 200


async def test_r13_concurrent_closes_of_one_month_write_one_set_of_books(client):
    import asyncio

    from member_api.db import fetch

    wj = await facility_id(client, WJ)
    await sign_up(5, wj, 2026)
    headers = await officer(client)
    responses = await asyncio.gather(
        *(client.post("/v1/agency/capitation/2026/10/close", headers=headers) for _ in range(4))
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1
    closes = await fetch("SELECT COUNT(*) AS n FROM capitation_close")
    statements = await fetch("SELECT COUNT(*) AS n FROM capitation_statement WHERE institution = {}", wj)
    assert (closes[0]["n"], statements[0]["n"]) == (1, 1)
