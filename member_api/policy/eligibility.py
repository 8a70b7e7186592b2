"""Who has benefits: paid-up enrollment (R1) and newborn coverage before enrollment (R5)."""

from __future__ import annotations

import calendar
from datetime import date

from member_api.policy.parameters import PolicyYear


def is_eligible(enrolled: bool, paid_up: bool) -> bool:
    """R1: enrolled and paid up for the year of care."""
    return enrolled and paid_up


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def enrolled_in_newborn_window(params: PolicyYear, birth_date: date, enrolled_on: date) -> bool:
    """R5: enrolled within the parameter's months (6) after birth."""
    return birth_date <= enrolled_on <= add_months(birth_date, params.newborn_enrollment_months)


def newborn_expense_covered(params: PolicyYear, birth_date: date, enrolled_on: date, care_date: date) -> bool:
    """R5/E7: care from birth until (not including) the enrollment date, for a timely enrolled newborn."""
    return enrolled_in_newborn_window(params, birth_date, enrolled_on) and birth_date <= care_date < enrolled_on
