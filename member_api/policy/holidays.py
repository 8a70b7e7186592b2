"""R9: which days are official working days, and where that knowledge came from.

Sources, in order:

1. ``chinesecalendar`` (the maintained package) for the years it covers;
2. for a year it does not cover, the policy year's own lists (``official_holidays`` and
   ``adjusted_working_days``, the make-up working weekends), copied from the State Council's notice;
3. otherwise weekends only, and the answer says so (``weekends_only``): a missing calendar is never silent.

A policy year's ``extra_non_working_days`` are non-working whatever the source.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

import chinese_calendar
import msgspec

from member_api.policy.parameters import NoPolicyYear, PolicyYear, all_years, for_date

CALENDAR_WARNING_DAYS = 60
"""The service warns at start when a policy year in force or starting within this many days has no calendar."""


class CalendarSource(StrEnum):
    PACKAGE = "chinesecalendar"
    POLICY_YEAR = "policy_year"
    WEEKENDS_ONLY = "weekends_only"


_STRENGTH = {CalendarSource.PACKAGE: 2, CalendarSource.POLICY_YEAR: 1, CalendarSource.WEEKENDS_ONLY: 0}


def weakest(sources: list[CalendarSource]) -> CalendarSource:
    """The least reliable source among those a decision used: what an answer must admit to."""
    return min(sources, key=_STRENGTH.__getitem__)


def package_covers(year: int) -> bool:
    """True when the installed ``chinesecalendar`` has the year's holiday data."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _params_of(day: date, years: tuple[PolicyYear, ...] | None) -> PolicyYear | None:
    try:
        return for_date(day, years)
    except NoPolicyYear:
        return None


def is_working_day(day: date, years: tuple[PolicyYear, ...] | None = None) -> tuple[bool, CalendarSource]:
    """(official working day?, source used). Adjusted working Saturdays and Sundays count as working days."""
    params = _params_of(day, years)
    try:
        working, source = bool(chinese_calendar.is_workday(day)), CalendarSource.PACKAGE
    except NotImplementedError:
        if params is not None and params.official_holidays:
            if day in params.official_holidays:
                working = False
            else:
                working = day in params.adjusted_working_days or day.weekday() < 5
            source = CalendarSource.POLICY_YEAR
        else:
            working, source = day.weekday() < 5, CalendarSource.WEEKENDS_ONLY
    if params is not None and day in params.extra_non_working_days:
        working = False
    return working, source


class CalendarCoverage(msgspec.Struct, kw_only=True, frozen=True):
    """What ``member-api calendar-check YEAR`` reports."""

    year: int
    source: str
    """``chinesecalendar``, ``policy_year``, or ``missing`` (weekends only would be used)."""
    package_covers: bool
    policy_year_known: bool
    official_holidays: int
    adjusted_working_days: int
    holiday_notice: str
    disagreements: list[date]
    """Days where the policy year's lists and the package disagree (both present): fix the data."""

    @property
    def covered(self) -> bool:
        return self.source != "missing"


def calendar_coverage(year: int, years: tuple[PolicyYear, ...] | None = None) -> CalendarCoverage:
    params = next((p for p in (years if years is not None else all_years()) if p.year == year), None)
    packaged = package_covers(year)
    listed = params is not None and bool(params.official_holidays)
    disagreements: list[date] = []
    if packaged and params is not None:
        disagreements = sorted(
            [d for d in params.official_holidays if chinese_calendar.is_workday(d)]
            + [d for d in params.adjusted_working_days if not chinese_calendar.is_workday(d)]
        )
    source = "chinesecalendar" if packaged else "policy_year" if listed else "missing"
    return CalendarCoverage(
        year=year,
        source=source,
        package_covers=packaged,
        policy_year_known=params is not None,
        official_holidays=len(params.official_holidays) if params else 0,
        adjusted_working_days=len(params.adjusted_working_days) if params else 0,
        holiday_notice=params.holiday_notice if params else "",
        disagreements=disagreements,
    )


def years_missing_calendar(
    today: date, horizon_days: int, years: tuple[PolicyYear, ...] | None = None
) -> list[PolicyYear]:
    """Policy years in force today or starting within ``horizon_days`` whose holiday calendar is missing."""
    horizon = today + timedelta(days=horizon_days)
    return [
        p
        for p in (years if years is not None else all_years())
        if p.valid_from <= horizon and p.valid_to >= today and not calendar_coverage(p.year, years).covered
    ]
