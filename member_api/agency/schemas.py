"""Bodies of /v1/agency: statements (fen), reports, indicators, signals, samples."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

SignalKind = Literal["same_day_repeat", "split_visits", "duplicate_receipt", "outlier_institution", "many_facilities"]


class InstitutionRef(msgspec.Struct, kw_only=True):
    id: int
    code: str
    name: str


class AdjustmentLine(msgspec.Struct, kw_only=True):
    """Late movements that reached an already cleared month, re-cleared on this (the next open) month."""

    touched_year: int
    touched_month: int
    movements: int
    actual_fen: int
    cleared_fen: int
    withheld_fen: int
    paid_fen: int
    cleared_here: bool
    """False when the touched month was cleared before this system kept the books: reported, not re-cleared."""


class MovementLine(msgspec.Struct, kw_only=True):
    settlement_id: int
    kind: str
    facility_id: int
    visit_date: date
    fund_fen: int
    reverses: int | None


class MonthStatement(msgspec.Struct, kw_only=True):
    """One institution's books of one month (R13.2-3), money in fen."""

    year: int
    month: int
    institution: InstitutionRef
    headcount: int
    """Signed-up headcount as of the last day of this month (R13.1): the basis of next month's prepayment."""
    prepayment_headcount: int
    prepayment_fen: int
    quality_guarantee_fen: int
    adjustment_fund_fen: int
    cleared_year: int
    cleared_month: int
    cleared_prepayment_fen: int
    cleared_actual_fen: int
    cleared_fen: int
    withheld_fen: int
    clearing_balance_fen: int
    adjustment_actual_fen: int
    adjustment_cleared_fen: int
    adjustment_withheld_fen: int
    adjustment_fen: int
    payable_fen: int
    adjustments: list[AdjustmentLine] = []
    movements: list[MovementLine] | None = None


class MonthTotals(msgspec.Struct, kw_only=True):
    headcount: int
    prepayment_fen: int
    quality_guarantee_fen: int
    adjustment_fund_fen: int
    cleared_fen: int
    withheld_fen: int
    adjustment_fen: int
    payable_fen: int


class MonthStatements(msgspec.Struct, kw_only=True):
    year: int
    month: int
    closed_at: datetime
    closed_by: str
    watermark: int
    """Fund movements with ids up to this one are in these books; later ones go to the next open month."""
    items: list[MonthStatement]
    totals: MonthTotals


class CloseView(msgspec.Struct, kw_only=True):
    year: int
    month: int
    closed_at: datetime
    closed_by: str
    watermark: int


class CapitationBooks(msgspec.Struct, kw_only=True):
    closes: list[CloseView]
    settled_years: list[int]
    next_open: str | None
    """The month that may be closed next (YYYY-MM), when the books have begun."""


class YearStatement(msgspec.Struct, kw_only=True):
    """One institution's year close: its final account of the year (R13.4-5), money in fen."""

    year: int
    institution: InstitutionRef
    headcount: int
    months_cleared: int
    prepaid_fen: int
    package_fen: int
    actual_fen: int
    threshold_reached: bool
    due_fen: int
    reward_fen: int
    returned_to_fund_fen: int
    uncompensated_overspend_fen: int
    cleared_fen: int
    withheld_fen: int
    guarantee_release_bp: int
    guarantee_released_fen: int
    guarantee_forfeited_fen: int
    balance_fen: int


class YearStatements(msgspec.Struct, kw_only=True):
    year: int
    settled_at: datetime
    settled_by: str
    watermark: int
    items: list[YearStatement]


# --- R14 ---


class ReportLine(msgspec.Struct, kw_only=True):
    visits: int
    general_fee_fen: int
    compliant_fen: int
    non_compliant_fen: int
    bill_total_fen: int
    fund_fen: int
    member_fen: int


class StationLine(ReportLine, kw_only=True):
    facility_id: int
    facility_code: str
    facility_name: str
    kind: str
    tier: str


class TierLine(ReportLine, kw_only=True):
    kind: str
    tier: str


class Confirmation(msgspec.Struct, kw_only=True):
    confirmed_at: datetime
    confirmed_by: int
    on_time: bool
    visits: int
    bill_total_fen: int
    fund_fen: int
    member_fen: int


class FacilityReport(msgspec.Struct, kw_only=True):
    """R14: one unit's settled visits of one month, by tier (facility level) and by station."""

    year: int
    month: int
    institution: InstitutionRef
    due_date: date
    totals: ReportLine
    by_tier: list[TierLine]
    by_station: list[StationLine]
    confirmation: Confirmation | None


class ReportStatus(msgspec.Struct, kw_only=True):
    institution: InstitutionRef
    visits: int
    fund_fen: int
    confirmed: bool
    confirmed_at: datetime | None
    on_time: bool | None
    overdue: bool


class ReportStatusList(msgspec.Struct, kw_only=True):
    year: int
    month: int
    due_date: date
    confirmed: int
    not_confirmed: int
    items: list[ReportStatus]


# --- R15 ---


class AssessmentRow(msgspec.Struct, kw_only=True):
    institution: InstitutionRef
    headcount: int
    visits: int
    visit_rate_bp: int | None
    referrals: int
    referral_rate_bp: int | None
    bill_total_fen: int
    fund_fen: int
    avg_cost_per_visit_fen: int | None
    previous_avg_cost_per_visit_fen: int | None
    avg_cost_growth_bp: int | None
    general_fee_share_bp: int | None
    compliant_share_bp: int | None
    non_compliant_share_bp: int | None


class Assessment(msgspec.Struct, kw_only=True):
    year: int
    as_of: date
    items: list[AssessmentRow]


# --- R16 ---


class SignalReviewView(msgspec.Struct, kw_only=True):
    note: str
    reviewed_by: int
    reviewed_at: datetime


class Signal(msgspec.Struct, kw_only=True):
    key: str
    kind: SignalKind
    year: int
    month: int
    institution_id: int | None
    facility_id: int | None
    member_id: int | None
    member_name_masked: str | None
    day: date | None
    count: int
    amount_fen: int
    detail: str
    review: SignalReviewView | None


class SignalCount(msgspec.Struct, kw_only=True):
    kind: SignalKind
    total: int
    reviewed: int
    open: int


class SignalList(msgspec.Struct, kw_only=True):
    year: int
    month: int
    counts: list[SignalCount]
    items: list[Signal]


class SignalReviewRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    signal_key: Annotated[str, msgspec.Meta(min_length=3, max_length=160)]
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


# --- review samples ---


class SampleRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    seed: Annotated[int, msgspec.Meta(ge=1, le=2_147_483_646)] | None = None


class SampleItem(msgspec.Struct, kw_only=True):
    institution_id: int
    kind: Literal["settlement", "claim"]
    object_id: int


class SampleInstitution(msgspec.Struct, kw_only=True):
    institution_id: int
    settlements: int
    settlements_drawn: int
    claims: int
    claims_drawn: int


class ReviewSampleView(msgspec.Struct, kw_only=True):
    year: int
    month: int
    seed: int
    share_bp: int
    minimum: int
    settlement_watermark: int
    claim_watermark: int
    drawn_at: datetime
    drawn_by: str
    institutions: list[SampleInstitution]
    items: list[SampleItem]


class SampleCheck(msgspec.Struct, kw_only=True):
    reproduced: bool
    drawn: int
    redrawn: int
