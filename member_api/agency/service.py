"""The agency area's public face: what other areas, jobs/, web/ and the CLI call.

Behind it: ``capitation`` (R13 books: month close, year end, statements), ``fund`` (the 15% adjustment fund's
ledger), ``quality`` (the 5% guarantee by assessment), ``reports`` (R14 reports and submissions, R15 indicators),
``signals`` (R16 signals and review samples).
"""

from __future__ import annotations

from member_api.agency.capitation import books, close_month, close_year, month_statements, year_statements
from member_api.agency.fund import allocate, ledger
from member_api.agency.periods import month_not_ended, policy_year
from member_api.agency.quality import assessments as quality_assessments
from member_api.agency.quality import enter as enter_quality_assessment
from member_api.agency.reports import (
    assessment,
    caller_unit,
    comparison,
    confirm,
    facility_report,
    parse_upload,
    report_status,
    submit,
)
from member_api.agency.signals import check_sample, draw_sample, listing, mark_reviewed, sample

__all__ = [
    "allocate",
    "assessment",
    "books",
    "caller_unit",
    "check_sample",
    "close_month",
    "close_year",
    "comparison",
    "confirm",
    "draw_sample",
    "enter_quality_assessment",
    "facility_report",
    "ledger",
    "listing",
    "mark_reviewed",
    "month_not_ended",
    "month_statements",
    "parse_upload",
    "policy_year",
    "quality_assessments",
    "report_status",
    "sample",
    "submit",
    "year_statements",
]
