"""R9: the newborn claim window, the last days of a month, its end moved past non-working days."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import msgspec

from member_api.policy.holidays import CalendarSource, is_working_day, weakest
from member_api.policy.parameters import PolicyYear, for_date


class ClaimWindow(msgspec.Struct, kw_only=True, frozen=True):
    start: date
    end: date
    calendar_source: str
    """Where the working days checked came from: ``chinesecalendar``, ``policy_year`` (the policy year's
    official lists, for a year the package does not cover) or ``weekends_only`` (no calendar: flagged)."""

    @property
    def calendar_covered(self) -> bool:
        return self.calendar_source != CalendarSource.WEEKENDS_ONLY


def claim_window(
    year: int, month: int, params: PolicyYear | None = None, years: tuple[PolicyYear, ...] | None = None
) -> ClaimWindow:
    """The window of ``year-month``: its last N calendar days, only the end postponed to a working day.

    Each day checked is judged by the calendar of its own year (a December window can end in January).
    """
    last = date(year, month, calendar.monthrange(year, month)[1])
    params = params or for_date(last, years)
    start = last - timedelta(days=params.claim_window_days - 1)
    end, sources = last, []
    while True:
        working, source = is_working_day(end, years)
        sources.append(source)
        if working:
            break
        end += timedelta(days=1)
    return ClaimWindow(start=start, end=end, calendar_source=weakest(sources).value)


def _month_before(day: date) -> tuple[int, int]:
    return (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)


def _month_after(year: int, month: int) -> tuple[int, int]:
    return (year, month + 1) if month < 12 else (year + 1, 1)


def next_claim_window(day: date, years: tuple[PolicyYear, ...] | None = None) -> ClaimWindow:
    """The window open on ``day``, or else the next one; a postponed window spills into the next month."""
    previous = claim_window(*_month_before(day), years=years)
    if previous.start <= day <= previous.end:
        return previous
    current = claim_window(day.year, day.month, years=years)
    if day <= current.end:
        return current
    return claim_window(*_month_after(day.year, day.month), years=years)


def in_claim_window(day: date) -> bool:
    window = next_claim_window(day)
    return window.start <= day <= window.end
