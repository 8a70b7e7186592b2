"""R5 newborn coverage (E7), R9 claim windows against the official holiday notices, R13 capitation (E8)."""

from datetime import date

import pytest

from member_api.policy import capitation
from member_api.policy.claim_window import claim_window, in_claim_window, next_claim_window
from member_api.policy.designation import FacilityRef, pair_problem
from member_api.policy.eligibility import enrolled_in_newborn_window, newborn_expense_covered
from member_api.policy.parameters import for_year

P = for_year(2025)


def test_e7_newborn_expense_before_enrollment_is_claimable_r5():
    born, enrolled = date(2025, 3, 10), date(2025, 6, 1)
    assert newborn_expense_covered(P, born, enrolled, date(2025, 3, 20))
    assert not newborn_expense_covered(P, born, enrolled, date(2025, 6, 5))


def test_r5_enrollment_after_six_months_covers_nothing():
    born = date(2025, 1, 31)
    assert enrolled_in_newborn_window(P, born, date(2025, 7, 31))
    assert not enrolled_in_newborn_window(P, born, date(2025, 8, 1))
    assert not newborn_expense_covered(P, born, date(2025, 8, 1), date(2025, 2, 3))


# (year, month) -> (start, end), checked against the State Council holiday notices for 2024-2026.
OFFICIAL_WINDOWS = {
    (2024, 3): (date(2024, 3, 27), date(2024, 4, 1)),  # 31st is a Sunday
    (2024, 9): (date(2024, 9, 26), date(2024, 9, 30)),  # National Day starts 1 Oct; the 30th works
    (2024, 11): (date(2024, 11, 26), date(2024, 12, 2)),
    (2025, 1): (date(2025, 1, 27), date(2025, 2, 5)),  # Spring Festival 28 Jan - 4 Feb
    (2025, 5): (date(2025, 5, 27), date(2025, 6, 3)),  # Dragon Boat 31 May - 2 Jun
    (2025, 9): (date(2025, 9, 26), date(2025, 9, 30)),
    (2026, 1): (date(2026, 1, 27), date(2026, 2, 2)),
    (2026, 2): (date(2026, 2, 24), date(2026, 2, 28)),  # 28 Feb 2026 is an adjusted working Saturday
    (2026, 10): (date(2026, 10, 27), date(2026, 11, 2)),
}


@pytest.mark.parametrize(("year", "month"), sorted(OFFICIAL_WINDOWS))
def test_r9_claim_window_matches_official_calendar(year, month):
    window = claim_window(year, month)
    assert (window.start, window.end) == OFFICIAL_WINDOWS[(year, month)]
    assert window.calendar_covered


def test_r9_window_postponed_into_next_month_is_still_open():
    assert in_claim_window(date(2025, 2, 5))
    assert next_claim_window(date(2025, 2, 5)).start == date(2025, 1, 27)
    assert not in_claim_window(date(2025, 2, 6))
    assert next_claim_window(date(2025, 2, 6)).start == date(2025, 2, 24)


def test_r9_beyond_calendar_coverage_falls_back_to_weekends_and_flags():
    window = claim_window(2027, 7)  # 31 July 2027 is a Saturday
    assert window.end == date(2027, 8, 2)
    assert not window.calendar_covered


def test_e8_monthly_prepayment_r13():
    assert capitation.monthly_prepayment(P, 1200).paid_fen == 480_000


def test_r12_r13_package_clearing_and_year_end():
    package = capitation.package_fen(P, 1000)
    assert package == 6_000_000
    clearing = capitation.monthly_clearing(P, prepayment_fen=400_000, actual_fund_fen=450_000)
    assert (clearing.cleared_fen, clearing.withheld_fen, clearing.paid_fen) == (400_000, 20_000, 380_000)
    reward = capitation.package_outcome(P, package, 4_800_000)
    assert (reward.paid_fen, reward.reward_fen) == (package, 1_200_000)
    under = capitation.package_outcome(P, package, 4_799_999)
    assert (under.paid_fen, under.returned_to_fund_fen) == (4_799_999, 1_200_001)
    over = capitation.package_outcome(P, package, 7_000_000)
    assert (over.paid_fen, over.uncompensated_overspend_fen) == (package, 1_000_000)


TOWNSHIP = FacilityRef(id=1, kind="township_center", in_city=True, active=True)
SCHOOL = FacilityRef(id=2, kind="school_clinic", in_city=True, active=True)
STATION_1 = FacilityRef(id=3, kind="village_station", in_city=True, active=True, parent_id=1)
STATION_OTHER = FacilityRef(id=4, kind="village_station", in_city=True, active=True, parent_id=9)


@pytest.mark.parametrize(
    ("institution", "station", "problem"),
    [
        (TOWNSHIP, STATION_1, None),
        (TOWNSHIP, STATION_OTHER, "station_of_other_institution"),
        (TOWNSHIP, None, "station_required"),
        (SCHOOL, None, None),
        (SCHOOL, STATION_1, "station_not_allowed"),
        (FacilityRef(id=5, kind="township_center", in_city=False, active=True), None, "facility_out_of_city"),
        (FacilityRef(id=6, kind="hospital", in_city=True, active=True), None, "not_primary_institution"),
    ],
)
def test_r2_designation_pairs(institution, station, problem):
    assert pair_problem(institution, station) == problem
