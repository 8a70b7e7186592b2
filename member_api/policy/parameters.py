"""Policy-year parameters (R17): every amount, ratio and date rule as data, looked up by date of care."""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources

import msgspec


class GradeBand(msgspec.Struct, kw_only=True, frozen=True):
    """R13.4: an assessment score of at least ``min_score`` earns ``grade`` and releases ``release_bp`` of the
    withheld quality guarantee."""

    min_score: int
    grade: str
    release_bp: int


class PolicyYear(msgspec.Struct, kw_only=True, frozen=True):
    year: int
    valid_from: date
    valid_to: date
    source: str
    annual_cap_fen: int
    out_of_city_cap_fen: int
    general_fee_standard_fen: dict[str, int]
    general_fee_ratio_bp: int
    compliant_ratio_bp: dict[str, int]
    newborn_enrollment_months: int
    claim_window_days: int
    extra_non_working_days: list[date]
    """Local non-working days on top of the national calendar (rarely used)."""
    designation_change_delay_days: int
    funding_per_member_fen: int
    prepayment_bp: int
    quality_guarantee_bp: int
    adjustment_fund_bp: int
    clearing_withhold_bp: int
    year_end_threshold_bp: int
    adult_age_years: int
    family_max_relatives: int
    dispute_window_days: int
    late_settlement_days: int = 15
    contribution_opens: str = "09-01"
    """参保缴费: collection for this year opens on this MM-DD of the previous year (``policy.contribution``)."""
    contribution_closes: str = "12-31"
    """参保缴费: and closes on this MM-DD of the previous year."""
    general_fee_codes: tuple[str, ...] = ("001102000050000",)
    signal_item_count_high_bp: int = 30000
    signal_item_count_min_lines: int = 5
    """R16 item signal: a line whose count is at least this share of the code's average count in the month, among
    at least this many lines of the code (a count far above a line's usual count)."""
    """R6/R18: the national service codes of the general diagnosis fee (一般诊疗费): lines with one of them are paid
    under R6, every other compliant line under R7."""
    """R17: a visit of this year still settles (and its settlements still reverse) for this many days after
    ``valid_to``, against this year's parameters and cap; see ``policy.year_grace``."""
    official_holidays: list[date] = []
    """R9: the State Council's holidays of the year (放假), for a year the holiday package does not cover yet."""
    adjusted_working_days: list[date] = []
    """R9: the make-up working days of the year (调休上班, weekends that are working days), likewise."""
    holiday_notice: str = ""
    """Where the two lists above come from (the notice's title and number); empty while they are empty."""
    quality_guarantee_release_bp: int
    """R13.4: share of the withheld quality guarantee paid back at year end (the text gives no scale: 100%)."""
    report_due_day: int
    """R14: a facility confirms last month's report by this day of the month."""
    signal_same_day_min_visits: int
    signal_split_min_visits: int
    signal_split_window_days: int
    signal_split_max_bill_fen: int
    signal_many_facilities_min: int
    signal_outlier_high_bp: int
    signal_outlier_low_bp: int
    signal_outlier_min_peers: int
    """R16 thresholds: see ``agency.signals`` for the query each one tunes."""
    review_sample_bp: int
    review_sample_min: int
    cap_alert_below_bp: int = 2000
    """A resident is alerted once a year when the remaining cap falls below this share of the annual cap."""
    """Review sampling: share of each institution's settlements and claims drawn per month, at least this many."""
    quality_grades: list[GradeBand]
    """R13.4: the year-end assessment table, highest band first; a score takes the first band it reaches."""
    signal_dispute_rate_bp: int
    """P2/R16: a unit whose confirmed disputes of the month reach this share of its visits (basis points of
    visits: 100 = 10 per 1,000 visits) is signalled..."""
    signal_dispute_min: int
    """... when it has at least this many confirmed disputes that month."""
    signal_member_disputes_min: int
    """P2/R16: a member with this many confirmed disputes in the year so far is signalled."""


class NoPolicyYear(LookupError):
    """No parameter set covers the date: an explicit refusal, never a silent default."""

    def __init__(self, day: date) -> None:
        super().__init__(f"no policy parameters cover {day.isoformat()}")
        self.day = day


@cache
def all_years() -> tuple[PolicyYear, ...]:
    folder = resources.files("member_api.policy") / "years"
    years = [
        msgspec.json.decode(entry.read_bytes(), type=PolicyYear)
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    ]
    return tuple(sorted(years, key=lambda p: p.valid_from))


def for_date(day: date, years: tuple[PolicyYear, ...] | None = None) -> PolicyYear:
    for params in years if years is not None else all_years():
        if params.valid_from <= day <= params.valid_to:
            return params
    raise NoPolicyYear(day)


def for_year(year: int) -> PolicyYear:
    return for_date(date(year, 6, 30))
