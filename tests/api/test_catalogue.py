"""R18: the catalogue: import of the national files (UTF-8 or GB18030, idempotent, superseded versions closed), a
facility's code mapping, search by code, name and pinyin initials, lines valued with the version of the date of care.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from member_api.catalogue import service as catalogue
from member_api.policy.fee_lines import FeeLine
from tests.helpers import facility_id as helper_facility_id

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
AMOXICILLIN = "XJ01CAA040E001010100461"
HEADER = "med_list_codg,med_list_name,list_type,spec,chrgitm_lv,selfpay_prop,pric_uplmt_amt,begndate,enddate\n"


def _line(no: int, code: str = "", facility_code: str | None = None, count: str = "1", price: int = 1000) -> FeeLine:
    return FeeLine(line_no=no, code=code, count=Decimal(count), unit_price_fen=price, facility_code=facility_code)


async def test_r18_reimport_is_idempotent_and_a_newer_version_closes_the_old(client, tmp_path: Path):
    again = await catalogue.import_sample(NOW)
    assert [(r.added, r.rejected) for r in again] == [(0, 0)] * 3 and again[0].unchanged == again[0].rows
    newer = tmp_path / "drugs-2027.csv"
    rows = f"{AMOXICILLIN},阿莫西林胶囊,101,0.25g*24粒,02,0.05,,2027-01-01,2099-12-31\nBAD,,101,,09,,,,\n"
    newer.write_bytes((HEADER + rows).encode("gb18030"))
    report = await catalogue.import_catalogue(newer, NOW)
    assert (report.encoding, report.added, report.closed, report.rejected) == ("gb18030", 1, 1, 1)
    assert report.rejected_rows[0].startswith("line 3:")
    assert (await catalogue.import_catalogue(newer, NOW)).added == 0  # idempotent
    old, new = sorted((await catalogue.versions_of([AMOXICILLIN]))[AMOXICILLIN], key=lambda v: v.valid_from)
    assert (old.category, old.valid_to, new.category, new.valid_to) == ("01", date(2026, 12, 31), "02", None)
    dec31 = (await catalogue.value_lines([_line(1, AMOXICILLIN)], date(2026, 12, 31), None))[0]
    jan1 = (await catalogue.value_lines([_line(1, AMOXICILLIN)], date(2027, 1, 1), None))[0]
    assert (dec31.compliant_fen, jan1.preselfpay_fen, jan1.compliant_fen) == (1000, 50, 950)


async def test_r18_lines_by_facility_code_and_unknown_codes_are_self_paid(client):
    institution = client.world["facilities"]["designated_institution"]
    facility_id = await helper_facility_id(client, institution)
    lines = [_line(1, facility_code="YP0001", count="2", price=1250), _line(2, facility_code="NOPE"), _line(3, "XX1")]
    valued = await catalogue.value_lines(lines, date(2026, 11, 24), facility_id)
    assert (valued[0].code, valued[0].compliant_fen, valued[0].name) == (AMOXICILLIN, 2500, "阿莫西林胶囊")
    assert [v.reasons for v in valued[1:]] == [["facility_code_unmapped"], ["not_in_catalogue"]]
    assert [v.selfpay_fen for v in valued[1:]] == [1000, 1000]


async def test_r18_search_by_code_name_and_pinyin_initials(client):
    async def codes(**params) -> list[str]:
        response = await client.get("/v1/catalogue", params=params)
        assert response.status_code == 200, response.text
        return [e["code"] for e in response.json()["items"]]

    assert await codes(q=AMOXICILLIN[:8]) == [AMOXICILLIN]
    assert AMOXICILLIN in await codes(q="阿莫西林")
    assert await codes(q="amxl") == [AMOXICILLIN]
    assert await codes(q="jrzs") == ["001204000010000"]  # 肌肉注射
    # a version closed before the date is not offered; it was on an earlier date
    assert await codes(q="zyfsxp") == []
    assert await codes(q="zyfsxp", on="2025-06-30") == ["XJ01MAA020A001010105532"]
    institution = client.world["facilities"]["designated_institution"]
    facility_id = await helper_facility_id(client, institution)
    found = (await client.get("/v1/catalogue", params={"q": "YP0001", "facility_id": facility_id})).json()["items"]
    assert [(e["code"], e["facility_code"]) for e in found] == [(AMOXICILLIN, "YP0001")]
    assert await codes(q="%") == []  # wildcards are literal
    assert (await client.get("/v1/catalogue", params={"q": ""})).status_code == 422
