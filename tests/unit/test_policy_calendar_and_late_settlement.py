"""Issue 16: R1/R5 decisions, R9 holiday data beyond the calendar package, R17 late settlement window."""

from datetime import date

import msgspec
import pytest

from member_api.policy.claim_window import claim_window, next_claim_window
from member_api.policy.eligibility import (
    EnrollmentFacts,
    enrolled_in_newborn_window,
    is_eligible,
    newborn_expense_covered,
)
from member_api.policy.holidays import (
    CalendarSource,
    calendar_coverage,
    is_working_day,
    package_covers,
    years_missing_calendar,
)
from member_api.policy.parameters import all_years, for_year
from member_api.policy.year_grace import may_settle, settle_until

P = for_year(2025)


# ---- R1 / R5: decisions where the text is silent ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "enrolled", "within"),
    [
        (date(2025, 8, 31), date(2026, 2, 28), True),  # 31 Aug + 6 months is clamped to 28 Feb
        (date(2025, 8, 31), date(2026, 3, 1), False),
        (date(2027, 8, 31), date(2028, 2, 29), True),  # a leap year: 29 Feb
        (date(2025, 3, 10), date(2025, 9, 10), True),  # the same day of the sixth month is within
        (date(2025, 3, 10), date(2025, 9, 11), False),
        (date(2025, 3, 10), date(2025, 3, 10), True),  # enrolled on the birth day
    ],
)
def test_r5_six_months_counted_in_calendar_months_clamped_to_month_end(born, enrolled, within):
    assert enrolled_in_newborn_window(P, born, enrolled) is within


def test_r5_care_on_the_enrollment_day_is_ordinary_care():
    born, enrolled = date(2025, 3, 10), date(2025, 6, 1)
    assert newborn_expense_covered(P, born, enrolled, date(2025, 5, 31))
    assert not newborn_expense_covered(P, born, enrolled, enrolled)  # not a newborn claim ...
    assert is_eligible(EnrollmentFacts(paid_up=True, enrolled_on=enrolled), enrolled)  # ... but settled normally


def test_r1_mid_year_enrollment_is_covered_from_the_enrollment_date():
    facts = EnrollmentFacts(paid_up=True, enrolled_on=date(2025, 7, 15))
    assert not is_eligible(facts, date(2025, 7, 14))
    assert is_eligible(facts, date(2025, 7, 15))
    assert is_eligible(facts, date(2025, 12, 31))


def test_r1_r5_newborn_not_paid_up_gets_nothing_even_before_enrollment():
    unpaid = EnrollmentFacts(paid_up=False, enrolled_on=date(2025, 6, 1))
    assert not is_eligible(unpaid, date(2025, 3, 20), newborn_before_enrollment=True)
    paid = EnrollmentFacts(paid_up=True, enrolled_on=date(2025, 6, 1))
    assert is_eligible(paid, date(2025, 3, 20), newborn_before_enrollment=True)


# ---- R17: late settlement ----------------------------------------------------------------------------------------


def test_r17_late_settlement_window_edges():
    p2026 = for_year(2026)
    assert p2026.late_settlement_days == 15
    assert settle_until(p2026) == date(2027, 1, 15)
    assert may_settle(p2026, date(2026, 12, 31))
    assert may_settle(p2026, date(2027, 1, 15))
    assert not may_settle(p2026, date(2027, 1, 16))
    shorter = msgspec.structs.replace(p2026, late_settlement_days=0)
    assert may_settle(shorter, date(2026, 12, 31)) and not may_settle(shorter, date(2027, 1, 1))


# ---- R9: holiday data beyond the package -------------------------------------------------------------------------

# A fictional 2031 schedule, for the mechanism only (no real notice): 31 Jan and 3 Feb off, Saturday 31 May worked.
FICTIONAL = msgspec.structs.replace(
    for_year(2027),
    year=2031,
    valid_from=date(2031, 1, 1),
    valid_to=date(2031, 12, 31),
    official_holidays=[date(2031, 1, 31), date(2031, 2, 3)],
    adjusted_working_days=[date(2031, 5, 31)],
    holiday_notice="fictional test notice",
)
YEARS = (*all_years(), FICTIONAL)


def test_r9_package_years_use_the_package():
    assert package_covers(2026)
    assert is_working_day(date(2026, 2, 28)) == (True, CalendarSource.PACKAGE)  # an adjusted working Saturday
    assert claim_window(2026, 2).calendar_source == "chinesecalendar"


def test_r9_policy_year_lists_used_when_the_package_lacks_the_year():
    assert not package_covers(2031)
    assert is_working_day(date(2031, 1, 31), YEARS) == (False, CalendarSource.POLICY_YEAR)  # a listed holiday
    assert is_working_day(date(2031, 5, 31), YEARS) == (True, CalendarSource.POLICY_YEAR)  # a make-up working day
    assert is_working_day(date(2031, 6, 2), YEARS) == (True, CalendarSource.POLICY_YEAR)
    january = claim_window(2031, 1, years=YEARS)
    assert (january.start, january.end, january.calendar_source) == (date(2031, 1, 27), date(2031, 2, 4), "policy_year")
    may = claim_window(2031, 5, years=YEARS)
    assert (may.end, may.calendar_source) == (date(2031, 5, 31), "policy_year")  # the make-up Saturday ends it
    assert next_claim_window(date(2031, 2, 4), YEARS).start == date(2031, 1, 27)


def test_r9_no_calendar_at_all_falls_back_to_weekends_and_says_so():
    window = claim_window(2027, 7)  # 2027.json carries no lists: no official notice was found
    assert (window.end, window.calendar_source, window.calendar_covered) == (date(2027, 8, 2), "weekends_only", False)


def test_r9_calendar_coverage_report():
    assert calendar_coverage(2026).source == "chinesecalendar"
    missing = calendar_coverage(2027)
    assert (missing.source, missing.covered, missing.policy_year_known) == ("missing", False, True)
    listed = calendar_coverage(2031, YEARS)
    assert (listed.source, listed.official_holidays, listed.adjusted_working_days) == ("policy_year", 2, 1)
    wrong = msgspec.structs.replace(for_year(2026), official_holidays=[date(2026, 3, 2)])  # a Monday, not a holiday
    assert calendar_coverage(2026, (wrong,)).disagreements == [date(2026, 3, 2)]


def test_r9_years_missing_calendar_within_the_horizon():
    assert [p.year for p in years_missing_calendar(date(2026, 11, 24), 60)] == [2027]
    assert years_missing_calendar(date(2026, 10, 1), 60) == []
    assert years_missing_calendar(date(2031, 6, 1), 60, YEARS) == []
