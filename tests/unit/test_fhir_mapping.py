"""FHIR mapping without a server: money converts exactly (fen <-> CNY), search parameters read as FHIR says,
and the resources built from plain values pass the fhir.resources R4B models."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from member_api.fhir import mapping, search
from member_api.ledger.schemas import LineView, SettlementView
from member_api.members.schemas import EnrollmentView, MemberView

SHANGHAI = ZoneInfo("Asia/Shanghai")


@given(st.integers(min_value=-100_000_000, max_value=100_000_000))
def test_money_is_exact_both_ways_and_keeps_two_places(fen):
    money = mapping.money(fen)
    assert money["currency"] == "CNY"
    assert mapping.fen_of(money["value"]) == fen
    written = mapping.JSON_ENCODER.encode(money).decode()  # a JSON number with both places: 35.00, -0.10
    assert written == f'{{"value":{"-" if fen < 0 else ""}{abs(fen) // 100}.{abs(fen) % 100:02d},"currency":"CNY"}}'
    assert Decimal(str(msgspec.json.decode(written)["value"])) == Decimal(fen) / 100


def test_money_refuses_a_fraction_of_a_fen():
    with pytest.raises(ValueError):
        mapping.fen_of(Decimal("0.005"))


def test_references_by_id_type_or_url():
    assert search.reference_id("patient", "12", "Patient") == 12
    assert search.reference_id("patient", "Patient/12", "Patient") == 12
    assert search.reference_id("patient", "https://api.example/fhir/R4/Patient/12", "Patient") == 12
    for bad in ("Organization/12", "Patient/x", "", "0", "Patient/12/_history/1"):
        with pytest.raises(search.SearchError):
            search.reference_id("patient", bad, "Patient")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_last_updated_precision_and_prefixes():
    assert search.last_updated([], SHANGHAI) == (None, None)
    assert search.last_updated(["2026-11-22"], SHANGHAI) == (at(2026, 11, 22), at(2026, 11, 23))
    assert search.last_updated(["2026-02"], SHANGHAI) == (at(2026, 2, 1), at(2026, 3, 1))
    assert search.last_updated(["2026"], SHANGHAI) == (at(2026, 1, 1), at(2027, 1, 1))
    assert search.last_updated(["ge2026-11-22"], SHANGHAI) == (at(2026, 11, 22), None)
    assert search.last_updated(["gt2026-11-22"], SHANGHAI) == (at(2026, 11, 23), None)
    assert search.last_updated(["le2026-11-22"], SHANGHAI) == (None, at(2026, 11, 23))
    assert search.last_updated(["lt2026-11-22"], SHANGHAI) == (None, at(2026, 11, 22))
    low, high = search.last_updated(["ge2026-11-22T10:00:00Z", "lt2026-11-23"], SHANGHAI)
    assert (low, high) == (datetime(2026, 11, 22, 10, tzinfo=UTC), at(2026, 11, 23))
    moment = search.last_updated(["2026-11-22T10:00:00 08:00"], SHANGHAI)  # "+" sent unencoded
    assert moment == (at(2026, 11, 22, 10), at(2026, 11, 22, 10) + timedelta(seconds=1))
    for bad, unsupported in (("sa2026", True), ("2026-13", False), ("yesterday", False), ("2026-11-22T", False)):
        with pytest.raises(search.SearchError) as refused:
            search.last_updated([bad], SHANGHAI)
        assert refused.value.not_supported is unsupported


def test_cursor_round_trip_and_refusal():
    assert search.decode_cursor(search.encode_cursor(41)) == 41
    for bad in ("", "!!", "MTI", search.encode_cursor(0)):
        with pytest.raises(search.SearchError):
            search.decode_cursor(bad)


MEMBER = MemberView(
    id=7,
    insurance_no="SG0000000007",
    name="陈志强",
    id_number_masked="4402**********0132",
    birth_date=date(1985, 4, 12),
    sex="M",
    division="浈江区",
    enrollments=[EnrollmentView(year=2026, paid_up=False, enrolled_on=date(2025, 12, 15))],
)


def test_patient_and_coverage_validate_and_unpaid_is_a_draft():
    mapping.check(mapping.patient(MEMBER, [mapping.FacilityName(1, "东河街道社区卫生服务中心")]))
    coverage = mapping.check(mapping.coverage(MEMBER, MEMBER.enrollments[0]))
    assert coverage["status"] == "draft" and coverage["period"] == {"start": "2026-01-01", "end": "2026-12-31"}


def _view(**overrides) -> SettlementView:
    values = dict(
        id=5,
        kind="counter",
        member_id=7,
        facility_id=3,
        facility_name="犁市镇卫生院",
        visit_date=date(2026, 11, 24),
        year=2026,
        general_fee_fen=1000,
        compliant_fen=40000,
        non_compliant_fen=0,
        fund_fen=1000,
        member_fen=40000,
        reasons=["annual_cap_reached"],
        lines=[
            LineView(item="general_fee", amount_fen=1000, ratio_bp=7000, fund_fen=700, reasons=[]),
            LineView(item="compliant", amount_fen=40000, ratio_bp=7000, fund_fen=28000, reasons=[]),
        ],
        repeat_same_day=False,
        out_of_city=False,
        emergency=False,
        reverses=None,
        reversed_by=None,
        created_at=at(2026, 11, 24, 10),
    )
    return SettlementView(**(values | overrides))


def test_r4_a_capped_settlement_shows_what_the_cap_took():
    caps = mapping.CapFigures(
        year=2026, annual_cap_fen=30000, used_fen=30000, out_of_city_cap_fen=6000, out_of_city_used_fen=0
    )
    eob = mapping.check(mapping.explanation_of_benefit(_view(), caps))
    assert eob["adjudication"][0]["amount"]["value"] == Decimal("277.00")  # 7.00 + 280.00 - 10.00 paid
    totals = {t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in eob["total"]}
    assert totals == {
        "submitted": Decimal("410.00"),
        "eligible": Decimal("410.00"),
        "benefit": Decimal("10.00"),
        "member-share": Decimal("400.00"),
    }


def test_a_reversal_negates_and_points_at_its_original():
    view = _view(id=6, kind="reversal", lines=[], reasons=["reversal"], fund_fen=-1000, member_fen=-40000, reverses=5)
    view.general_fee_fen, view.compliant_fen = -1000, -40000
    eob = mapping.check(mapping.explanation_of_benefit(view, None))
    assert "item" not in eob and "payee" not in eob and "benefitBalance" not in eob
    assert eob["related"][0]["reference"]["value"] == "5"
    assert eob["payment"]["amount"]["value"] == Decimal("-10.00")
