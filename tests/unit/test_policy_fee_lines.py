"""R18 (compliant amount from the catalogue) and E9: lines valued by the catalogue entry valid on the date of care,
their fund share under R6/R7, summed and capped (R4) as a bill of three totals."""

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from member_api.policy.fee_lines import (
    Entry,
    FeeLine,
    LineReason,
    line_amount_fen,
    line_problems,
    totals,
    value_line,
    value_lines,
)
from member_api.policy.parameters import for_year
from member_api.policy.reimbursement import (
    AccountState,
    Bill,
    Coverage,
    FacilityFacts,
    reimburse,
    reimburse_lines,
)

P = for_year(2026)
DAY = date(2026, 3, 2)
TOWNSHIP = FacilityFacts(kind="township_center", tier="primary", in_city=True)
STATION = FacilityFacts(kind="village_station", tier="primary", in_city=True)
DESIGNATED = Coverage(eligible=True, designated=True)
GENERAL_FEE = P.general_fee_codes[0]
START = date(2020, 1, 1)

CATALOGUE = {
    "XA01": [Entry(code="XA01", name="阿莫西林胶囊", kind="drug", category="01", valid_from=START)],
    "XB02": [Entry(code="XB02", name="头孢克肟片", kind="drug", category="02", selfpay_prop_bp=1000, valid_from=START)],
    "XC03": [Entry(code="XC03", name="某保健品", kind="drug", category="03", valid_from=START)],
    "S001": [
        Entry(code="S001", name="静脉输液", kind="service", category="01", price_ceiling_fen=2500, valid_from=START)
    ],
    GENERAL_FEE: [Entry(code=GENERAL_FEE, name="一般诊疗费", kind="service", category="01", valid_from=START)],
    "OLD1": [
        Entry(code="OLD1", name="已停用药品", kind="drug", category="01", valid_from=START, valid_to=date(2025, 12, 31))
    ],
}


def line(no: int, code: str, count: str, price_fen: int) -> FeeLine:
    return FeeLine(line_no=no, code=code, count=Decimal(count), unit_price_fen=price_fen)


def valued(ln: FeeLine, day: date = DAY):
    return value_line(ln, CATALOGUE.get(ln.code, []), day, P.general_fee_codes)


def paid_one(ln: FeeLine, facility: FacilityFacts = TOWNSHIP):
    return reimburse_lines(P, facility, DESIGNATED, [valued(ln)], AccountState()).items[0]


def test_r18_class_a_drug_fully_compliant_fund_70_percent():
    item = paid_one(line(1, "XA01", "2", 1250))
    assert (item.amount_fen, item.compliant_fen, item.fund_fen) == (2500, 2500, 1750)
    assert item.category == "01" and item.own_fen == 0 and item.reasons == []


def test_r18_class_b_drug_up_front_self_pay_then_compliant():
    item = paid_one(line(1, "XB02", "1", 4000))
    assert (item.preselfpay_fen, item.compliant_fen, item.fund_fen) == (400, 3600, 2520)
    assert item.selfpay_prop_bp == 1000 and item.reasons == [LineReason.UP_FRONT_SELF_PAY]


def test_r18_class_c_line_self_paid_fund_zero():
    item = paid_one(line(1, "XC03", "1", 1500))
    assert (item.selfpay_fen, item.compliant_fen, item.fund_fen) == (1500, 0, 0)
    assert item.reasons == [LineReason.SELF_PAID_CATEGORY]


def test_r18_service_above_its_price_ceiling_over_limit_self_paid():
    item = paid_one(line(1, "S001", "2", 3000))
    assert (item.amount_fen, item.over_limit_fen, item.compliant_fen, item.fund_fen) == (6000, 1000, 5000, 3500)
    assert item.price_ceiling_fen == 2500 and item.reasons == [LineReason.OVER_PRICE_CEILING]


def test_r18_code_not_in_catalogue_is_a_self_paid_line_with_the_reason():
    item = paid_one(line(1, "NOPE", "1", 880))
    assert (item.selfpay_fen, item.fund_fen, item.category) == (880, 0, "03")
    assert item.reasons == [LineReason.NOT_IN_CATALOGUE]


def test_r18_code_not_valid_on_the_date_of_care_is_self_paid():
    item = paid_one(line(1, "OLD1", "1", 500))
    assert (item.selfpay_fen, item.fund_fen, item.name) == (500, 0, "已停用药品")
    assert item.reasons == [LineReason.NOT_VALID_ON_DATE]
    before = valued(line(1, "OLD1", "1", 500), date(2025, 12, 31))
    assert before.compliant_fen == 500  # the day before it closed it was in the catalogue


def test_r18_the_version_valid_on_the_date_of_care_values_the_line():
    versions = [
        Entry(
            code="V",
            name="v1",
            kind="drug",
            category="02",
            selfpay_prop_bp=500,
            valid_from=START,
            valid_to=date(2026, 2, 28),
        ),
        Entry(code="V", name="v2", kind="drug", category="01", valid_from=date(2026, 3, 1)),
    ]
    old = value_line(line(1, "V", "1", 1000), versions, date(2026, 2, 28))
    new = value_line(line(1, "V", "1", 1000), versions, date(2026, 3, 1))
    assert (old.name, old.preselfpay_fen, old.compliant_fen) == ("v1", 50, 950)
    assert (new.name, new.preselfpay_fen, new.compliant_fen) == ("v2", 0, 1000)


def test_r6_r18_general_diagnosis_fee_line_at_a_township_center():
    item = paid_one(line(1, GENERAL_FEE, "1", 1000))
    assert item.general_fee and (item.ratio_bp, item.fund_fen) == (7000, 700)


def test_r6_r18_general_fee_standard_is_per_visit_across_lines():
    lines = value_lines(
        [line(1, GENERAL_FEE, "1", 500), line(2, GENERAL_FEE, "1", 500)], CATALOGUE, DAY, P.general_fee_codes
    )
    r = reimburse_lines(P, STATION, DESIGNATED, lines, AccountState())
    assert [i.fund_fen for i in r.items] == [350, 0]  # a station's standard is 5.00 per visit


def test_e9_r18_worked_example_at_a_township_center():
    lines = value_lines(
        [
            line(1, "XA01", "2", 1250),
            line(2, "XB02", "1", 4000),
            line(3, "XC03", "1", 1500),
            line(4, "S001", "2", 3000),
        ],
        CATALOGUE,
        DAY,
        P.general_fee_codes,
    )
    r = reimburse_lines(P, TOWNSHIP, DESIGNATED, lines, AccountState())
    assert [i.fund_fen for i in r.items] == [1750, 2520, 0, 3500]
    assert (r.fund_fen, r.member_fen, r.fund_fen + r.member_fen) == (7770, 6230, 14000)
    t = totals(lines)
    assert (t.general_fee_fen, t.compliant_fen, t.non_compliant_fen) == (0, 11100, 2900)


def test_r4_r18_cap_applies_after_the_lines_are_summed_exactly_as_three_totals():
    lines = value_lines(
        [line(1, GENERAL_FEE, "1", 1000), line(2, "XA01", "2", 2000), line(3, "XC03", "1", 1500)],
        CATALOGUE,
        DAY,
        P.general_fee_codes,
    )
    account = AccountState(used_fen=P.annual_cap_fen - 1000)
    itemised = reimburse_lines(P, TOWNSHIP, DESIGNATED, lines, account)
    t = totals(lines)
    typed = reimburse(P, TOWNSHIP, DESIGNATED, Bill(**{f: getattr(t, f) for f in t.__struct_fields__}), account)
    assert (itemised.fund_fen, itemised.member_fen) == (typed.fund_fen, typed.member_fen) == (1000, 5500)
    assert "annual_cap_reached" in itemised.reasons
    assert sum(i.fund_fen for i in itemised.items) == 700 + 2800  # the lines keep their own share; the cap cuts the sum


def test_r3_r18_refused_visit_pays_no_line():
    lines = value_lines([line(1, "XA01", "1", 1000)], CATALOGUE, DAY, P.general_fee_codes)
    r = reimburse_lines(P, TOWNSHIP, Coverage(eligible=True, designated=False), lines, AccountState())
    assert r.fund_fen == 0 and r.items[0].reasons == ["not_designated"] and r.reasons == ["not_designated"]


def test_r18_amount_is_price_times_count_half_up():
    assert line_amount_fen(333, Decimal("0.5")) == 167
    assert line_amount_fen(1250, Decimal("2")) == 2500


def test_r18_bad_lines_are_named():
    lines = [
        line(1, "XA01", "0", 100),
        line(1, "XA01", "1", 0),
        line(3, "XA01", "1.255", 100),
        FeeLine(line_no=4, code="XA01", count=Decimal(1), unit_price_fen=Decimal("1.5")),
    ]
    got = [(p.line_no, p.field, p.code) for p in line_problems(lines)]
    assert got == [
        (1, "count", "not_positive"),
        (1, "line_no", "duplicate_line_no"),
        (1, "unit_price_fen", "not_positive"),
        (3, "count", "too_many_decimals"),
        (4, "unit_price_fen", "too_many_decimals"),
    ]
    many = [line(n, "XA01", "1", 100) for n in range(1, 5)]
    assert [(p.line_no, p.code) for p in line_problems(many, max_lines=3)] == [(4, "too_many_lines")]


@given(
    st.lists(
        st.tuples(
            st.sampled_from([*sorted(CATALOGUE), "NOPE"]),
            st.integers(min_value=1, max_value=9999).map(lambda n: Decimal(n) / 100),
            st.integers(min_value=1, max_value=500_000),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(min_value=0, max_value=P.annual_cap_fen),
)
def test_r18_property_parts_add_up_and_fund_within_cap(raw, used):
    lines = value_lines(
        [line(n, code, str(count), price) for n, (code, count, price) in enumerate(raw, start=1)],
        CATALOGUE,
        DAY,
        P.general_fee_codes,
    )
    for v in lines:
        assert v.over_limit_fen + v.preselfpay_fen + v.selfpay_fen + v.compliant_fen == v.amount_fen
        assert min(v.over_limit_fen, v.preselfpay_fen, v.selfpay_fen, v.compliant_fen) >= 0
    r = reimburse_lines(P, TOWNSHIP, DESIGNATED, lines, AccountState(used_fen=used))
    assert r.fund_fen + r.member_fen == sum(v.amount_fen for v in lines)
    assert 0 <= r.fund_fen <= P.annual_cap_fen - used
