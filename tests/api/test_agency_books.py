"""Issue 32 on both databases: disputes in R15/R16 (P2), the adjustment fund's ledger and the quality guarantee
by assessment (R13 interpretations), and a whole year whose statements still add up."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import pytest

from member_api.db import fetch
from tests.helpers import facility_id, member_entry, member_headers, staff_headers
from tests.helpers.agency import movement, read_csv, read_xlsx, sign_up
from tests.helpers.problems import assert_problem

WJ, LS = "H44020300001", "H44020400005"


async def _officer(client) -> dict[str, str]:
    return await staff_headers(client, "officer_agency")


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _item(books: dict, institution_id: int) -> dict:
    return next(i for i in books["items"] if i["institution"]["id"] == institution_id)


async def _settle(client, clerk: dict[str, str], insurance_no: str = "SG0000000001") -> dict:
    response = await client.post(
        "/v1/counter/settlements",
        json={
            "visit_date": "2026-11-24",
            "id_number": member_entry(client, insurance_no)["id_number"],
            "general_fee_fen": 1000,
            "compliant_fen": 2000,
        },
        headers={**clerk, **_key()},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _confirmed_dispute(client, member: dict[str, str], reviewer: dict[str, str], settlement_id: int) -> None:
    filed = await client.post(
        "/v1/me/disputes",
        files=[("settlement_id", (None, str(settlement_id))), ("reason", (None, "not_me")), ("text", (None, "不是我"))],
        headers=member,
    )
    assert filed.status_code == 201, filed.text
    url = f"/v1/review/disputes/{filed.json()['id']}"
    assert (await client.post(f"{url}/take", headers=reviewer)).status_code == 200
    decided = await client.post(f"{url}/decision", json={"decision": "confirm", "reason": "冒名就诊"}, headers=reviewer)
    assert decided.json()["status"] == "confirmed", decided.text


async def test_p2_confirmed_disputes_count_in_r15_and_signal_in_r16_with_reversed_settlements_kept(client):
    clerk = await staff_headers(client, "clerk_zj_dh")
    settled = [await _settle(client, clerk) for _ in range(3)]
    member = await member_headers(client)
    reviewer = await staff_headers(client, "reviewer_agency")
    for s in settled[:2]:
        await _confirmed_dispute(client, member, reviewer, s["id"])
    officer = await _officer(client)
    unit = settled[0]["facility_id"] if "facility_id" in settled[0] else None

    # R15: two confirmed disputes of three settled visits: 666.7 per 1,000 visits.
    r15 = (await client.get("/v1/agency/assessment/2026", headers=officer)).json()
    row = next(i for i in r15["items"] if i["confirmed_disputes"])
    unit = unit or row["institution"]["id"]
    assert (row["confirmed_disputes"], row["disputes_per_1000_visits_tenths"]) == (2, 6667)
    table = read_csv((await client.get("/v1/agency/assessment/2026/indicators.csv", headers=officer)).content)
    assert table[0][-2:] == ["确认争议笔数", "每千人次确认争议"]
    assert next(r for r in table[1:] if r[1] == row["institution"]["name"])[-2:] == ["2", "666.7"]

    # R16: the unit above the parameter, the member with repeated disputes, and the same-day pattern still there
    # although two of its settlements were reversed; each signal links to its settlements.
    data = (await client.get("/v1/agency/signals", params={"year": 2026, "month": 11}, headers=officer)).json()
    by_kind = {s["kind"]: s for s in data["items"]}
    ids = sorted(s["id"] for s in settled)
    facility = by_kind["facility_disputes"]
    assert (facility["institution_id"], facility["count"], sorted(facility["settlement_ids"])) == (unit, 2, ids[:2])
    assert facility["institution_name"] and facility["institution_name"] in facility["text_zh"]
    repeated = by_kind["member_disputes"]
    assert (repeated["count"], sorted(repeated["settlement_ids"])) == (2, ids[:2])
    same_day = by_kind["same_day_repeat"]
    assert (same_day["count"], sorted(same_day["settlement_ids"]), same_day["reversed_count"]) == (3, ids, 2)
    masked = same_day["member_name_masked"]
    amount = sum(s["fund_fen"] for s in settled)
    assert "2026 年 11 月 24 日" in same_day["text_zh"] and masked in same_day["text_zh"]
    assert f"{amount / 100:,.2f} 元" in same_day["text_zh"] and "其中 2 笔已冲正" in same_day["text_zh"]
    assert member_entry(client, "SG0000000001")["name"] not in str(data)
    counts = {c["kind"]: c["total"] for c in data["counts"]}
    assert counts["facility_disputes"] == 1 and counts["member_disputes"] == 1
    reviewed = await client.post(
        "/v1/agency/signals/reviews", json={"signal_key": facility["key"], "note": "已约谈机构"}, headers=officer
    )
    assert reviewed.status_code == 201 and reviewed.json()["review"]["reviewed_by_name"] == "王晓梅"


async def test_r16_duplicate_receipt_and_outlier_texts_name_date_member_and_amount(client):
    from tests.helpers.agency import claim_with_receipt

    wj = await facility_id(client, WJ)
    m = await sign_up(2, wj, 2026)
    at = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)
    first = await claim_with_receipt(m[0], wj, "cd" * 32, at)
    second = await claim_with_receipt(m[1], wj, "cd" * 32, at)
    officer = await _officer(client)
    data = (
        await client.get(
            "/v1/agency/signals",
            params={"year": 2026, "month": 10, "kind": "duplicate_receipt"},
            headers=officer,
        )
    ).json()
    (signal,) = data["items"]
    assert signal["claim_ids"] == [first, second] and signal["amount_fen"] == 2_000
    assert signal["day"] == "2026-10-15" and signal["member_name_masked"] == "测***"
    text = signal["text_zh"]
    assert "2026 年 10 月 15 日" in text and "测***" in text and "20.00 元" in text and f"第 {first} 号" in text
    assert "receipt" not in text


async def _close_through(client, headers, months: list[tuple[int, int]]) -> dict[tuple[int, int], dict]:
    books = {}
    for year, month in months:
        response = await client.post(f"/v1/agency/capitation/{year}/{month}/close", headers=headers)
        assert response.status_code == 200, response.text
        books[(year, month)] = response.json()
    return books


@pytest.mark.clock_at(datetime(2026, 4, 10, 2, 0, tzinfo=UTC))
async def test_r13_adjustment_fund_allocations_are_audited_bounded_and_never_overdraw_concurrently(client):
    ls = await facility_id(client, LS)
    members = await sign_up(10, ls, 2026)
    await movement(members[0], ls, date(2026, 2, 10), 20_000)  # February's actual 200.00 > its prepayment 40.00
    headers = await _officer(client)
    await _close_through(client, headers, [(2026, 1), (2026, 2), (2026, 3)])
    ledger = (
        await client.get("/v1/agency/adjustment-fund/2026", params={"institution_id": ls}, headers=headers)
    ).json()
    # Accruals of 15%: January prepaid nothing (no sign-ups in December); February and March 7.50 each.
    assert [(m["kind"], m["month"], m["amount_fen"], m["balance_fen"]) for m in ledger["movements"]] == [
        ("accrual", 2, 750, 750),
        ("accrual", 3, 750, 1_500),
    ]
    assert ledger["movements"][0]["rule"] == "第九条(二)2"
    body = {"institution_id": ls, "year": 2026, "month": 2, "amount_fen": 400, "reason": "2月流感高峰，费用超预付"}
    # March is not cleared yet (April's close clears it); January's actual did not exceed its prepayment.
    refused = await client.post(
        "/v1/agency/adjustment-fund/allocations", json={**body, "month": 3}, headers={**headers, **_key()}
    )
    assert_problem(refused, 409, "month_not_cleared")
    refused = await client.post(
        "/v1/agency/adjustment-fund/allocations", json={**body, "month": 1}, headers={**headers, **_key()}
    )
    assert assert_problem(refused, 409, "allocation_exceeds_overspend")["extra"]["room_fen"] == 0

    # Five officers allocate 4.00 at once from 15.00: three succeed, two are refused, the balance stays >= 0.
    responses = await asyncio.gather(
        *(
            client.post("/v1/agency/adjustment-fund/allocations", json=body, headers={**headers, **_key()})
            for _ in range(5)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 201, 201, 409, 409]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"adjustment_fund_insufficient"}
    balances = sorted(r.json()["balance_fen"] for r in responses if r.status_code == 201)
    assert balances == [300, 700, 1_100]
    account = await fetch("SELECT balance_fen FROM adjustment_fund_account WHERE institution = {}", ls)
    assert account[0]["balance_fen"] == 300
    # A replay of one key answers the same movement, once.
    key = _key()
    once = await client.post(
        "/v1/agency/adjustment-fund/allocations", json={**body, "amount_fen": 100}, headers={**headers, **key}
    )
    again = await client.post(
        "/v1/agency/adjustment-fund/allocations", json={**body, "amount_fen": 100}, headers={**headers, **key}
    )
    assert once.status_code == again.status_code == 201 and once.json() == again.json()
    assert once.json()["created_by_name"] == "王晓梅" and once.json()["balance_fen"] == 200
    audit = await fetch("SELECT COUNT(*) AS n FROM audit_event WHERE action = 'adjustment_fund_allocated'")
    assert audit[0]["n"] == 4
    sheets = read_xlsx((await client.get("/v1/agency/adjustment-fund/2026/ledger.xlsx", headers=headers)).content)
    rows = [r for r in sheets["调节金台账"][1:] if r[0] == LS]
    assert [r[4] for r in rows] == ["计提", "计提", "调节拨付", "调节拨付", "调节拨付", "调节拨付"]
    assert [float(r[6]) for r in rows][-1] == 2.0 and rows[-1][9] == "王晓梅"
    account_row = next(r for r in sheets["调节金账户"][1:] if r[0] == LS)
    assert [float(v) for v in account_row[2:]] == [15.0, 13.0, 0.0, 2.0]
    table = read_csv((await client.get("/v1/agency/adjustment-fund/2026/ledger.csv", headers=headers)).content)
    assert table[0][:7] == ["机构编码", "机构名称", "年度", "月份", "类型", "金额(元)", "余额(元)"]


@pytest.mark.clock_at(datetime(2027, 2, 10, 2, 0, tzinfo=UTC))
async def test_r13_a_whole_year_adds_up_with_allocations_and_the_assessed_guarantee(client):
    wj, ls = await facility_id(client, WJ), await facility_id(client, LS)
    a = await sign_up(10, wj, 2026)
    await sign_up(10, ls, 2026)
    await movement(a[0], wj, date(2026, 3, 5), 6_000)  # March: 60.00 against a prepayment of 40.00
    headers = await _officer(client)
    months = [(2026, m) for m in range(1, 13)] + [(2027, 1)]
    books = await _close_through(client, headers, months[:4])  # April's close clears March
    allocation = {"institution_id": wj, "year": 2026, "month": 3, "reason": "3月就诊量上升", "rule": "第九条(二)2"}
    made = await client.post(
        "/v1/agency/adjustment-fund/allocations",
        json={**allocation, "amount_fen": 2_000},
        headers={**headers, **_key()},
    )
    assert made.status_code == 201 and made.json()["balance_fen"] == 3 * 750 - 2_000
    books.update(await _close_through(client, headers, months[4:]))

    # The officer's assessment of WJ: 65 points -> 基本合格, half the withheld guarantee released (policy table).
    entered = await client.put(
        f"/v1/agency/quality/2026/institutions/{wj}", json={"score": 65, "note": "满意度偏低"}, headers=headers
    )
    assert entered.status_code == 200, entered.text
    assert (entered.json()["grade"], entered.json()["release_bp"], entered.json()["assessed_by_name"]) == (
        "基本合格",
        5_000,
        "王晓梅",
    )
    settled = (await client.post("/v1/agency/capitation/2026/settle", headers=headers)).json()
    year = _item(settled, wj)
    assert (year["assessment_score"], year["assessment_grade"], year["guarantee_release_bp"]) == (65, "基本合格", 5_000)
    assert (year["withheld_fen"], year["guarantee_released_fen"], year["guarantee_forfeited_fen"]) == (200, 100, 100)
    assert (year["fund_accrued_fen"], year["fund_allocated_fen"]) == (11 * 750, 2_000)
    assert year["fund_settled_fen"] == 11 * 750 - 2_000
    # Monthly payables of the year's clearings + allocations + the year-end balance = due - forfeited guarantee.
    paid = sum(_item(b, wj)["payable_fen"] for b in books.values()) - _item(books[(2027, 1)], wj)["prepayment_fen"]
    assert paid + 2_000 + year["balance_fen"] == year["due_fen"] - year["guarantee_forfeited_fen"]
    assert year["due_fen"] == 6_000 and year["balance_fen"] == 6_000 - 4_000 - 2_000 + 100
    other = _item(settled, ls)
    assert (other["assessment_score"], other["guarantee_release_bp"]) == (None, 10_000)  # not assessed: default
    # The fund's accounts of the year are settled to zero; the assessment is final.
    ledger = (await client.get("/v1/agency/adjustment-fund/2026", headers=headers)).json()
    assert ledger["settled"] and all(acc["balance_fen"] == 0 for acc in ledger["accounts"])
    assert next(m for m in ledger["movements"] if m["institution"]["id"] == wj and m["kind"] == "year_end")[
        "amount_fen"
    ] == -(11 * 750 - 2_000)
    assert_problem(
        await client.put(f"/v1/agency/quality/2026/institutions/{wj}", json={"score": 99}, headers=headers),
        409,
        "year_already_settled",
    )
    assert_problem(
        await client.post(
            "/v1/agency/adjustment-fund/allocations",
            json={**allocation, "amount_fen": 1},
            headers={**headers, **_key()},
        ),
        409,
        "year_already_settled",
    )
    table = read_csv((await client.get("/v1/agency/capitation/2026/statements.csv", headers=headers)).content)
    line = next(r for r in table[1:] if r[1] == WJ)
    assert line[-5:] == ["65", "基本合格", "82.50", "20.00", "62.50"]
