"""R18 and E9 at the counter: quotes and settlements take itemised lines valued by the catalogue; the settlement
keeps the values it was settled with; bad lines are 422 naming the line; the three totals still work (manual entry).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from member_api.catalogue import service as catalogue
from tests.helpers import member_entry, member_headers, staff_headers
from tests.helpers.problems import assert_problem

VISIT = "2026-11-24"
AMOXICILLIN, CEFIXIME, VITAMINS, INFUSION = (
    "XJ01CAA040E001010100461",
    "XJ01DDA131A001010101589",
    "XV06DXB015A001010109876",
    "001204000030000",
)
GENERAL_FEE = "001102000050000"
E9_ITEMS = [
    {"line_no": 1, "code": AMOXICILLIN, "count": 2, "unit_price_fen": 1250},
    {"line_no": 2, "code": CEFIXIME, "count": "1", "unit_price_fen": 4000},
    {"line_no": 3, "code": VITAMINS, "count": 1, "unit_price_fen": 1500},
    {"line_no": 4, "code": INFUSION, "count": 2, "unit_price_fen": 3000},
]


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def visit(client, **bill) -> dict:
    return {"visit_date": VISIT, "id_number": member_entry(client, "SG0000000001")["id_number"], **bill}


async def test_e9_r18_quote_and_settlement_value_each_line_and_keep_the_values(client, tmp_path: Path):
    clerk = await staff_headers(client, "clerk_zj_dh")
    quoted = await client.post("/v1/counter/quotes", json=visit(client, items=E9_ITEMS), headers=clerk)
    assert quoted.status_code == 200, quoted.text
    q = quoted.json()
    assert (q["fund_fen"], q["member_fen"], q["manual_entry"]) == (7770, 6230, False)
    shares = [(i["compliant_fen"], i["fund_fen"]) for i in q["items"]]
    assert shares == [(2500, 1750), (3600, 2520), (0, 0), (5000, 3500)]
    assert (q["items"][1]["preselfpay_fen"], q["items"][3]["over_limit_fen"], q["items"][2]["selfpay_fen"]) == (
        400,
        1000,
        1500,
    )
    assert q["items"][2]["reason_zh"].startswith("丙类") and q["items"][3]["reason_en"].startswith("The unit price")
    assert (q["general_fee_fen"], q["compliant_fen"], q["non_compliant_fen"]) == (0, 11100, 2900)
    body = visit(client, items=E9_ITEMS, quote_id=q["quote_id"])
    settled = await client.post("/v1/counter/settlements", json=body, headers={**clerk, **key()})
    assert settled.status_code == 201, settled.text
    s = settled.json()
    assert (s["fund_fen"], s["member_fen"], s["changed_since_quote"], s["manual_entry"]) == (7770, 6230, False, False)
    assert [i["fund_fen"] for i in s["items"]] == [1750, 2520, 0, 3500]

    # The catalogue corrects the 甲类 drug to 丙类 (same start date): the settlement keeps what it was settled with.
    corrected = tmp_path / "drugs.csv"
    corrected.write_text(
        "med_list_codg,med_list_name,list_type,spec,chrgitm_lv,begndate\n"
        f"{AMOXICILLIN},阿莫西林胶囊,101,0.25g*24粒,03,2024-01-01\n",
        encoding="utf-8",
    )
    assert (await catalogue.import_catalogue(corrected, datetime.now(UTC))).corrected == 1
    member = await member_headers(client)
    shown = (await client.get(f"/v1/me/settlements/{s['id']}", headers=member)).json()
    first = shown["items"][0]
    assert (first["code"], first["category"], first["fund_fen"]) == (AMOXICILLIN, "01", 1750)
    assert shown["manual_entry"] is False and shown["fund_fen"] == 7770
    # FHIR: the EOB's items are the bill lines, each coded by its national code, as settled.
    eob = (await client.get(f"/fhir/R4/ExplanationOfBenefit/{s['id']}", headers=member)).json()
    assert [i["productOrService"]["coding"][0]["code"] for i in eob["item"]] == [c["code"] for c in E9_ITEMS]
    assert eob["item"][0]["productOrService"]["coding"][0]["display"] == "阿莫西林胶囊"
    assert [i["adjudication"][-1]["amount"]["value"] for i in eob["item"]] == [17.5, 25.2, 0, 35]
    assert eob["item"][3]["quantity"]["value"] == 2 and eob["item"][3]["unitPrice"]["value"] == 30
    requote = (await client.post("/v1/counter/quotes", json=visit(client, items=E9_ITEMS[:1]), headers=clerk)).json()
    assert requote["items"][0]["category"] == "03" and requote["fund_fen"] == 0


async def test_r6_r18_general_fee_line_unknown_code_and_facility_code(client):
    clerk = await staff_headers(client, "clerk_zj_dh")
    items = [
        {"line_no": 1, "code": GENERAL_FEE, "count": 1, "unit_price_fen": 1000},
        {"line_no": 2, "code": "XZZZ0000", "count": 1, "unit_price_fen": 880},
        {"line_no": 3, "facility_code": "YP0001", "count": "0.5", "unit_price_fen": 1250},
    ]
    q = (await client.post("/v1/counter/quotes", json=visit(client, items=items), headers=clerk)).json()
    general, unknown, mapped = q["items"]
    assert (general["general_fee"], general["fund_fen"], q["general_fee_fen"]) == (True, 700, 1000)  # R6: 10.00 x 70%
    assert (unknown["selfpay_fen"], unknown["fund_fen"], unknown["reasons"]) == (880, 0, ["not_in_catalogue"])
    assert "不在医保目录" in unknown["reason_zh"]
    assert (mapped["code"], mapped["amount_fen"], mapped["fund_fen"]) == (AMOXICILLIN, 625, 438)
    assert q["fund_fen"] == 700 + 438


async def test_r18_bad_lines_are_422_naming_the_line(client):
    clerk = await staff_headers(client, "clerk_zj_dh")

    async def refused(items, line_no, field):
        response = await client.post("/v1/counter/quotes", json=visit(client, items=items), headers=clerk)
        problem = assert_problem(response, 422, "invalid_items")
        assert line_no in problem["extra"]["lines"] and f"line {line_no}" in problem["message_en"]
        assert any(e["field"].endswith(field) for e in problem["errors"])

    good = {"line_no": 1, "code": AMOXICILLIN, "count": 1, "unit_price_fen": 100}
    await refused([good, {**good, "line_no": 2, "count": 0}], 2, "count")
    await refused([good, {**good, "line_no": 2, "unit_price_fen": -5}], 2, "unit_price_fen")
    await refused([good, {**good, "line_no": 7, "count": "1.255"}], 7, "count")
    await refused([good, {**good}], 1, "line_no")
    await refused([{**good, "line_no": n} for n in range(1, 202)], 201, "line_no")
    both = visit(client, items=[good], compliant_fen=100)
    assert_problem(await client.post("/v1/counter/quotes", json=both, headers=clerk), 422, "items_and_totals")


async def test_r18_three_totals_still_settle_as_manual_entry(client):
    clerk = await staff_headers(client, "clerk_zj_dh")
    body = visit(client, general_fee_fen=1000, compliant_fen=4000, non_compliant_fen=1500)
    s = (await client.post("/v1/counter/settlements", json=body, headers={**clerk, **key()})).json()
    assert (s["fund_fen"], s["manual_entry"], s["items"]) == (3500, True, [])  # E1


async def test_r18_referral_claim_lines_valued_at_the_care_date_paid_as_claimed(client):
    """E4 with lines: a referral to the tertiary hospital pays 50% (R7) of each line's compliant part."""
    from tests.helpers import facility_id
    from tests.helpers.claims import HOSPITAL, add_receipt, draft_claim

    clerk = await staff_headers(client, "clerk_zj_dh")
    hospital = await facility_id(client, HOSPITAL)
    referral = await client.post(
        "/v1/counter/referrals",
        json={
            "id_number": member_entry(client, "SG0000000001")["id_number"],
            "target_facility_id": hospital,
            "valid_from": VISIT,
            "valid_to": "2026-12-31",
        },
        headers={**clerk, **key()},
    )
    member = await member_headers(client)
    lines = [E9_ITEMS[0], E9_ITEMS[1], {"line_no": 5, "code": "XZZZ0000", "count": 1, "unit_price_fen": 500}]
    body = {
        "kind": "referral",
        "referral_id": referral.json()["id"],
        "items": [{"care_date": VISIT, "facility_id": hospital, "items": lines}],
    }
    bad = {**body, "items": [{**body["items"][0], "items": [{**lines[0], "count": -1}]}]}
    problem = assert_problem(
        await client.post("/v1/me/claims", json=bad, headers={**member, **key()}), 422, "invalid_items"
    )
    assert problem["errors"][0]["field"] == "items[0].items[0].count"
    claim = await draft_claim(client, member, body)
    item = claim["items"][0]
    assert (item["manual_entry"], item["compliant_fen"], item["non_compliant_fen"]) == (False, 6100, 900)
    assert [i["reasons"] for i in item["items"]] == [[], ["up_front_self_pay"], ["not_in_catalogue"]]
    assert (await add_receipt(client, member, claim)).status_code == 201
    assert (await client.post(f"/v1/me/claims/{claim['id']}/submit", headers=member)).status_code == 200
    reviewer = await staff_headers(client, "reviewer_agency")
    decided = await client.post(
        f"/v1/review/claims/{claim['id']}/decision",
        headers=reviewer,
        json={"items": [{"item_id": item["id"], "decision": "approve"}]},
    )
    paid = decided.json()
    assert paid["paid_fen"] == 1250 + 1800  # 50% of 25.00 and of 36.00
    assert [i["fund_fen"] for i in paid["items"][0]["items"]] == [1250, 1800, 0]
    movement = (await client.get("/v1/me/settlements", headers=member)).json()["items"][0]
    shown = (await client.get(f"/v1/me/settlements/{movement['id']}", headers=member)).json()
    assert [i["fund_fen"] for i in shown["items"]] == [1250, 1800, 0] and shown["manual_entry"] is False
