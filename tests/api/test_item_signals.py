"""R16 over bill lines (R18): the same item billed twice in a visit or a day, a count far above the item's usual
count, self-paid (03) lines sent as compliant; each signal names the settlements' lines."""

from __future__ import annotations

import uuid

from tests.helpers import member_entry, staff_headers

AMOXICILLIN, PARACETAMOL, VITAMINS, INFUSION = (
    "XJ01CAA040E001010100461",
    "XN02BEA010A001010104195",
    "XV06DXB015A001010109876",
    "001204000030000",
)


def line(no: int, code: str, count: int = 1, price: int = 1000, **extra) -> dict:
    return {"line_no": no, "code": code, "count": count, "unit_price_fen": price, **extra}


async def settle(client, clerk, day: str, items: list[dict]) -> int:
    body = {"visit_date": day, "id_number": member_entry(client, "SG0000000001")["id_number"], "items": items}
    response = await client.post(
        "/v1/counter/settlements", json=body, headers={**clerk, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_r16_r18_item_signals_name_their_lines(client):
    clerk = await staff_headers(client, "clerk_zj_dh")
    twice = await settle(client, clerk, "2026-11-20", [line(1, AMOXICILLIN, 2), line(2, AMOXICILLIN, 1)])
    again = await settle(client, clerk, "2026-11-20", [line(1, AMOXICILLIN, 1), line(2, INFUSION, 1, 2500)])
    sent_as_a = await settle(client, clerk, "2026-11-21", [line(1, VITAMINS, 1, 1500, chrgitm_lv="01")])
    usual = [await settle(client, clerk, f"2026-11-{d}", [line(1, PARACETAMOL, 1, 300)]) for d in (21, 22, 23)]
    many = await settle(client, clerk, "2026-11-23", [line(1, PARACETAMOL, 1, 300), line(2, PARACETAMOL, 20, 300)])
    officer = await staff_headers(client, "officer_agency")

    async def signals(kind: str) -> list[dict]:
        params = {"year": 2026, "month": 11, "kind": kind}
        response = await client.get("/v1/agency/signals", params=params, headers=officer)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    repeated = await signals("repeated_item")
    assert len(repeated) == 2  # amoxicillin three times on the 20th; paracetamol twice in one visit on the 23rd
    amox = next(s for s in repeated if AMOXICILLIN in s["key"])
    assert [(x["settlement_id"], x["line_no"]) for x in amox["lines"]] == [(twice, 1), (twice, 2), (again, 1)]
    assert amox["count"] == 3 and "阿莫西林胶囊" in amox["text_zh"] and amox["settlement_ids"] == [twice, again]

    high = await signals("item_count_high")
    assert [(x["settlement_id"], x["line_no"], x["count"]) for s in high for x in s["lines"]] == [(many, 2, 20)]

    billed = await signals("self_paid_as_compliant")
    assert [(x["settlement_id"], x["code"], x["category"]) for s in billed for x in s["lines"]] == [
        (sent_as_a, VITAMINS, "03")
    ]
    assert "丙类" in billed[0]["text_zh"] and usual
