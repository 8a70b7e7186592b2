"""R9: the newborn claim window, the last days of a month, its end moved past non-working days."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import chinese_calendar
import msgspec

from member_api.policy.parameters import PolicyYear, for_date


class ClaimWindow(msgspec.Struct, kw_only=True, frozen=True):
    start: date
    end: date
    calendar_covered: bool
    """False when a day checked lies past chinesecalendar's data: weekends only were used."""


def is_working_day(day: date, extra_non_working: frozenset[date] = frozenset()) -> tuple[bool, bool]:
    """(official working day?, covered by the holiday calendar?). Adjusted working Saturdays count."""
    if day in extra_non_working:
        return False, True
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


def claim_window(year: int, month: int, params: PolicyYear | None = None) -> ClaimWindow:
    """The window of ``year-month``: its last N calendar days, the end postponed to a working day."""
    last = date(year, month, calendar.monthrange(year, month)[1])
    params = params or for_date(last)
    start = last - timedelta(days=params.claim_window_days - 1)
    extra = frozenset(params.extra_non_working_days)
    end, covered = last, True
    while True:
        working, known = is_working_day(end, extra)
        covered = covered and known
        if working:
            break
        end += timedelta(days=1)
    return ClaimWindow(start=start, end=end, calendar_covered=covered)


def _month_before(day: date) -> tuple[int, int]:
    return (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)


def _month_after(year: int, month: int) -> tuple[int, int]:
    return (year, month + 1) if month < 12 else (year + 1, 1)


def next_claim_window(day: date) -> ClaimWindow:
    """The window open on ``day``, or else the next one; a postponed window spills into the next month."""
    previous = claim_window(*_month_before(day))
    if previous.start <= day <= previous.end:
        return previous
    current = claim_window(day.year, day.month)
    if day <= current.end:
        return current
    return claim_window(*_month_after(day.year, day.month))


def in_claim_window(day: date) -> bool:
    window = next_claim_window(day)
    return window.start <= day <= window.end
