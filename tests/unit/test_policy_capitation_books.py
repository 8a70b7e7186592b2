"""R13-R16 pure parts: month statement (E8), re-clearing, year end around 80%, indicators, outliers, sampling."""

from __future__ import annotations

from datetime import date

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from member_api.policy import capitation
from member_api.policy.parameters import for_year

P = for_year(2026)


def test_e8_month_statement_prepays_by_last_months_headcount_r13_2():
    books = capitation.month_statement(P, P, 1200, cleared_prepayment_fen=480_000, cleared_actual_fen=500_000)
    assert books.prepayment.paid_fen == 480_000  # 1,200 x 5.00 x 80%
    assert (books.prepayment.quality_guarantee_fen, books.prepayment.adjustment_fund_fen) == (30_000, 90_000)
    # R13.3: cleared at most the prepayment, 5% withheld; the advance is settled against it.
    assert (books.clearing.cleared_fen, books.clearing.withheld_fen) == (480_000, 24_000)
    assert books.clearing_balance_fen == -24_000
    assert books.payable_fen == 480_000 - 24_000


def test_r13_3_clearing_below_prepayment_recovers_the_unused_advance():
    books = capitation.month_statement(P, P, 10, cleared_prepayment_fen=4_000, cleared_actual_fen=1_000)
    assert (books.clearing.cleared_fen, books.clearing.withheld_fen, books.clearing.paid_fen) == (1_000, 50, 950)
    assert books.clearing_balance_fen == 950 - 4_000


def test_r13_late_reversal_re_clears_the_closed_month_by_difference():
    delta = capitation.reclear(P, prepayment_fen=4_000, actual_before_fen=2_000, actual_after_fen=0)
    assert (delta.cleared_fen, delta.withheld_fen, delta.paid_fen) == (-2_000, -100, -1_900)
    capped = capitation.reclear(P, prepayment_fen=4_000, actual_before_fen=9_000, actual_after_fen=7_000)
    assert capped == capitation.Clearing(cleared_fen=0, withheld_fen=0, paid_fen=0)  # still above the cap


def test_r13_4_year_end_at_exactly_80_percent_pays_the_package():
    outcome = capitation.year_account(P, 10, actual_fen=48_000, cleared_fen=4_000, withheld_fen=200)
    assert outcome.package_fen == 60_000 and outcome.threshold_reached
    assert (outcome.due_fen, outcome.reward_fen, outcome.returned_to_fund_fen) == (60_000, 12_000, 0)
    assert (outcome.guarantee_released_fen, outcome.guarantee_forfeited_fen) == (200, 0)
    assert outcome.balance_fen == 60_000 - 4_000 + 200


def test_r13_4_year_end_below_80_percent_pays_actual_and_returns_the_rest():
    outcome = capitation.year_account(P, 10, actual_fen=47_999, cleared_fen=4_000, withheld_fen=200)
    assert not outcome.threshold_reached
    assert (outcome.due_fen, outcome.returned_to_fund_fen, outcome.reward_fen) == (47_999, 12_001, 0)


def test_r13_5_overspend_is_not_compensated_and_release_follows_the_parameter():
    half = msgspec.structs.replace(P, quality_guarantee_release_bp=5_000)
    outcome = capitation.year_account(half, 10, actual_fen=70_000, cleared_fen=48_000, withheld_fen=2_400)
    assert (outcome.due_fen, outcome.uncompensated_overspend_fen) == (60_000, 10_000)
    assert (outcome.guarantee_released_fen, outcome.guarantee_forfeited_fen) == (1_200, 1_200)
    assert outcome.balance_fen == 60_000 - 48_000 + 1_200


@given(
    headcount=st.integers(0, 50_000),
    actual=st.integers(0, 10_000_000),
    prepaid=st.lists(st.integers(0, 400_000), min_size=1, max_size=12),
    release=st.integers(0, 10_000),
)
def test_r13_the_year_ends_with_due_less_forfeited_guarantee(headcount, actual, prepaid, release):
    """Whatever the months cleared, clearings plus year end pay the due amount less the kept guarantee."""
    params = msgspec.structs.replace(P, quality_guarantee_release_bp=release)
    share = actual // len(prepaid)
    clearings = [capitation.monthly_clearing(params, p, share) for p in prepaid]
    cleared, withheld = sum(c.cleared_fen for c in clearings), sum(c.withheld_fen for c in clearings)
    paid_in_year = sum(c.paid_fen for c in clearings)
    outcome = capitation.year_account(params, headcount, actual, cleared, withheld)
    assert paid_in_year + outcome.balance_fen == outcome.due_fen - outcome.guarantee_forfeited_fen


def test_calendar_helpers_and_report_due_r14():
    assert capitation.month_end(2026, 2) == date(2026, 2, 28) and capitation.month_end(2024, 12) == date(2024, 12, 31)
    assert capitation.previous_month(2027, 1) == (2026, 12)
    assert capitation.report_due(P, 2026, 12) == date(2027, 1, 5)


def test_r15_indicators():
    figures = capitation.indicators(
        headcount=10,
        visits=2,
        referrals=1,
        general_fee_fen=1_000,
        compliant_fen=2_500,
        non_compliant_fen=500,
        fund_fen=2_450,
        previous_visits=4,
        previous_bill_total_fen=6_400,
    )
    assert (figures.visit_rate_bp, figures.referral_rate_bp) == (2_000, 5_000)
    assert (figures.avg_cost_per_visit_fen, figures.previous_avg_cost_per_visit_fen) == (2_000, 1_600)
    assert figures.avg_cost_growth_bp == 2_500
    assert (figures.general_fee_share_bp, figures.compliant_share_bp, figures.non_compliant_share_bp) == (
        2_500,
        6_250,
        1_250,
    )
    empty = capitation.indicators(
        headcount=0,
        visits=0,
        referrals=0,
        general_fee_fen=0,
        compliant_fen=0,
        non_compliant_fen=0,
        fund_fen=0,
        previous_visits=0,
        previous_bill_total_fen=0,
    )
    assert empty.visit_rate_bp is None and empty.avg_cost_growth_bp is None


def test_r16_outliers_against_the_peer_median():
    values = {1: 200, 2: 210, 3: 190, 4: 205, 5: 2_000, 6: 50, 7: None}
    assert capitation.outliers(P, values) == {5: ("high", 203), 6: ("low", 203)}  # median of six: (200 + 205) / 2
    assert capitation.outliers(P, {1: 1, 2: 100}) == {}  # too few peers


def test_review_sample_size():
    assert [capitation.sample_size(P, n) for n in (0, 1, 3, 20, 21, 1_000)] == [0, 1, 1, 1, 2, 50]


def test_r13_4_assessment_score_to_grade_and_release_by_the_policy_table():
    assert [(b.grade, b.release_bp) for b in (capitation.grade_for(P, s) for s in (100, 90, 89, 75, 60, 59, 0))] == [
        ("优秀", 10_000),
        ("优秀", 10_000),
        ("合格", 10_000),
        ("合格", 10_000),
        ("基本合格", 5_000),
        ("不合格", 0),
        ("不合格", 0),
    ]
    half = capitation.year_account(P, 10, 6_000, 4_000, 201, release_bp=5_000)
    assert (half.guarantee_released_fen, half.guarantee_forfeited_fen, half.guarantee_release_bp) == (101, 100, 5_000)


def test_r13_2_adjustment_fund_allocates_at_most_the_months_overspend_and_the_year_counts_it():
    assert capitation.allocation_room(prepayment_fen=4_000, actual_fen=6_000, allocated_fen=0) == 2_000
    assert capitation.allocation_room(prepayment_fen=4_000, actual_fen=6_000, allocated_fen=1_500) == 500
    assert capitation.allocation_room(prepayment_fen=4_000, actual_fen=3_000, allocated_fen=0) == 0
    account = capitation.year_account(P, 10, 6_000, 4_000, 200, allocated_fen=2_000)
    assert account.fund_allocated_fen == 2_000 and account.balance_fen == 6_000 - 4_000 - 2_000 + 200


def test_p2_r15_r16_dispute_rate_and_signal_threshold():
    assert capitation.per_thousand_tenths(2, 3) == 6_667 and capitation.per_thousand_tenths(1, 0) is None
    assert capitation.per_thousand_tenths(1, 1_000) == 10  # 1.0 per 1,000 visits
    assert capitation.disputes_signalled(P, 2, 200)  # 2 of 200 visits = 100 bp, at the parameter
    assert not capitation.disputes_signalled(P, 2, 201)
    assert not capitation.disputes_signalled(P, 1, 1)  # below the minimum count
