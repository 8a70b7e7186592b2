"""The worked examples E1-E6 of DOMAIN.md and the properties of R4/R6/R7 reimbursement."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from member_api.policy.parameters import NoPolicyYear, for_date, for_year
from member_api.policy.reimbursement import (
    AccountState,
    Bill,
    Coverage,
    FacilityFacts,
    Reimbursement,
    reimburse,
    remaining_caps,
)

P = for_year(2026)
TOWNSHIP = FacilityFacts(kind="township_center", tier="primary", in_city=True)
STATION = FacilityFacts(kind="village_station", tier="primary", in_city=True)
TERTIARY = FacilityFacts(kind="hospital", tier="tertiary", in_city=True)
SECONDARY = FacilityFacts(kind="hospital", tier="secondary", in_city=True)
OUT_PRIMARY = FacilityFacts(kind="township_center", tier="primary", in_city=False)
DESIGNATED = Coverage(eligible=True, designated=True)


def fen(yuan: str) -> int:
    whole, _, frac = yuan.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def test_e1_designated_township_center_r6_r7():
    r = reimburse(
        P,
        TOWNSHIP,
        DESIGNATED,
        Bill(general_fee_fen=fen("10"), compliant_fen=fen("40"), non_compliant_fen=fen("15")),
        AccountState(),
    )
    assert (r.fund_fen, r.member_fen) == (fen("35.00"), fen("30.00"))
    assert [line.fund_fen for line in r.lines] == [fen("7"), fen("28"), 0]
    assert "non_compliant" in r.reasons


def test_e2_designated_village_station_r6():
    r = reimburse(P, STATION, DESIGNATED, Bill(general_fee_fen=fen("5"), compliant_fen=fen("20")), AccountState())
    assert (r.fund_fen, r.member_fen) == (fen("17.50"), fen("7.50"))


def test_e3_cap_almost_used_r4():
    used = P.annual_cap_fen - fen("10")
    r = reimburse(
        P,
        TOWNSHIP,
        DESIGNATED,
        Bill(general_fee_fen=fen("10"), compliant_fen=fen("40"), non_compliant_fen=fen("15")),
        AccountState(used_fen=used),
    )
    assert (r.fund_fen, r.member_fen) == (fen("10.00"), fen("55.00"))
    assert r.reasons[-1] == "annual_cap_reached"


def test_e4_referral_to_tertiary_pays_tier_ratio_r7_r10():
    r = reimburse(
        P,
        TERTIARY,
        Coverage(eligible=True, designated=False, referral_approved=True),
        Bill(compliant_fen=fen("200")),
        AccountState(),
    )
    assert r.fund_fen == fen("100.00")


def test_r7_referral_to_secondary_pays_60_percent():
    r = reimburse(
        P,
        SECONDARY,
        Coverage(eligible=True, designated=False, referral_approved=True),
        Bill(compliant_fen=fen("100")),
        AccountState(),
    )
    assert r.fund_fen == fen("60.00")


def test_e5_non_designated_without_referral_r3():
    r = reimburse(P, TOWNSHIP, Coverage(eligible=True, designated=False), Bill(compliant_fen=fen("50")), AccountState())
    assert (r.fund_fen, r.member_fen, r.reasons) == (0, fen("50"), ["not_designated"])


def test_e6_out_of_city_emergency_sub_cap_r4():
    r = reimburse(
        P,
        OUT_PRIMARY,
        Coverage(eligible=True, designated=False, emergency=True),
        Bill(compliant_fen=fen("100")),
        AccountState(used_fen=fen("50"), used_out_of_city_fen=fen("50")),
    )
    assert (r.fund_fen, r.member_fen) == (fen("10.00"), fen("90.00"))
    assert r.reasons == ["out_of_city_cap_reached"]


def test_r1_not_eligible_gets_nothing():
    r = reimburse(P, TOWNSHIP, Coverage(eligible=False, designated=True), Bill(compliant_fen=1000), AccountState())
    assert (r.fund_fen, r.reasons) == (0, ["not_eligible"])


def test_r6_general_fee_above_standard_paid_on_standard_only():
    r = reimburse(P, STATION, DESIGNATED, Bill(general_fee_fen=fen("8")), AccountState())
    assert r.fund_fen == fen("3.50")
    assert r.reasons == ["general_fee_above_standard"]


def test_r10_referral_out_of_city_not_paid():
    r = reimburse(
        P,
        OUT_PRIMARY,
        Coverage(eligible=True, designated=False, referral_approved=True),
        Bill(compliant_fen=1000),
        AccountState(),
    )
    assert r.fund_fen == 0 and r.reasons == ["referral_out_of_city"]


def test_rounding_half_up_per_line():
    # 0.05 at 70% = 0.035 -> 0.04 (half up); 0.15 at 70% = 0.105 -> 0.11; summed only after.
    r = reimburse(P, STATION, DESIGNATED, Bill(general_fee_fen=5, compliant_fen=15), AccountState())
    assert [line.fund_fen for line in r.lines[:2]] == [4, 11]
    assert r.fund_fen == 15


def test_r17_no_policy_year_is_an_error():
    with pytest.raises(NoPolicyYear):
        for_date(date(2019, 5, 1))
    assert for_date(date(2026, 12, 31)).year == 2026


bills = st.builds(
    Bill,
    general_fee_fen=st.integers(0, 5_000),
    compliant_fen=st.integers(0, 2_000_000),
    non_compliant_fen=st.integers(0, 1_000_000),
)
accounts = st.builds(AccountState, used_fen=st.integers(0, 30_000), used_out_of_city_fen=st.integers(0, 6_000))
facilities = st.sampled_from([TOWNSHIP, STATION, TERTIARY, SECONDARY, OUT_PRIMARY])
coverages = st.builds(
    Coverage, eligible=st.booleans(), designated=st.booleans(), emergency=st.booleans(), referral_approved=st.booleans()
)


def _run(facility, coverage, bill, account) -> Reimbursement:
    return reimburse(P, facility, coverage, bill, account)


@given(facilities, coverages, bills, accounts)
def test_r4_properties_fund_plus_member_is_bill_and_caps_hold(facility, coverage, bill, account):
    r = _run(facility, coverage, bill, account)
    annual_left, ooc_left = remaining_caps(P, account)
    assert r.fund_fen + r.member_fen == bill.total_fen
    assert 0 <= r.fund_fen <= annual_left
    if not facility.in_city:
        assert r.fund_fen <= ooc_left
    assert r.fund_fen <= sum(line.fund_fen for line in r.lines)


@given(facilities, coverages, bills, accounts, st.integers(1, 100_000))
def test_r7_fund_not_decreasing_as_compliant_grows(facility, coverage, bill, account, more):
    bigger = Bill(
        general_fee_fen=bill.general_fee_fen,
        compliant_fen=bill.compliant_fen + more,
        non_compliant_fen=bill.non_compliant_fen,
    )
    assert _run(facility, coverage, bigger, account).fund_fen >= _run(facility, coverage, bill, account).fund_fen
