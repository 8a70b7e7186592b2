"""Who has benefits: paid-up enrollment (R1) and newborn coverage before enrollment (R5)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from member_api.policy.parameters import PolicyYear


@dataclass(frozen=True)
class EnrollmentFacts:
    """A member's enrollment for one policy year, as the registry has it."""

    paid_up: bool
    enrolled_on: date


def is_eligible(
    enrollment: EnrollmentFacts | None, care_date: date, *, newborn_before_enrollment: bool = False
) -> bool:
    """R1: enrolled and paid up for the year of care, covered from the enrollment date on.

    Decided (DOMAIN.md R1, the text is silent): a member enrolled mid-year is covered from the enrollment date
    itself, inclusive; care before it gets nothing. The one exception is a newborn's care between birth and
    enrollment, which R5 covers (``newborn_before_enrollment``); the newborn must still be enrolled and paid up
    for the year of the expense (R1 holds for every fund payment, newborn claims included).
    """
    if enrollment is None or not enrollment.paid_up:
        return False
    return newborn_before_enrollment or enrollment.enrolled_on <= care_date


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's end: 31 Aug + 6 -> 28 Feb (29 in a leap year)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def enrolled_in_newborn_window(params: PolicyYear, birth_date: date, enrolled_on: date) -> bool:
    """R5: enrolled within the parameter's months (6) after birth.

    Decided (DOMAIN.md R5, the text says only "within 6 months"): counted in calendar months from the birth date,
    clamped to the month's end when that month is shorter (born 31 Aug -> enrolled by 28/29 Feb is within),
    both ends included; enrollment on the birth day itself is within.
    """
    return birth_date <= enrolled_on <= add_months(birth_date, params.newborn_enrollment_months)


def newborn_expense_covered(params: PolicyYear, birth_date: date, enrolled_on: date, care_date: date) -> bool:
    """R5/E7: care from birth until (not including) the enrollment date, for a timely enrolled newborn.

    Decided: care on the enrollment day itself is ordinary care, settled at the counter like any member's
    (``is_eligible`` covers it from that day), not "before enrollment" and not claimable under R9.
    """
    return enrolled_in_newborn_window(params, birth_date, enrolled_on) and birth_date <= care_date < enrolled_on
