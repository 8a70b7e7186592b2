"""Bodies of /v1/agency: statements (fen), reports, indicators, signals, samples."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

SignalKind = Literal[
    "same_day_repeat",
    "split_visits",
    "duplicate_receipt",
    "outlier_institution",
    "many_facilities",
    "facility_disputes",
    "member_disputes",
    "repeated_item",
    "item_count_high",
    "self_paid_as_compliant",
]


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
    closed_by_name: str = ""
    """Who closed, as a person reads it (the officer's name; the command line's user)."""
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
    """Paid (> 0) or recovered (< 0) at year end: due - cleared - fund allocated + guarantee released."""
    assessment_score: int | None
    """The officer's assessment score (0-100); None: not assessed, the year's default release share applied."""
    assessment_grade: str
    fund_accrued_fen: int
    """Adjustment fund (15%) accrued over the year's closes."""
    fund_allocated_fen: int
    """Adjustment fund allocated to the institution during the year (already paid)."""
    fund_settled_fen: int
    """The fund's balance closed to zero at year end (part of the package this settlement pays or returns)."""


class YearStatements(msgspec.Struct, kw_only=True):
    year: int
    settled_at: datetime
    settled_by: str
    settled_by_name: str = ""
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


class ChangedSettlement(msgspec.Struct, kw_only=True):
    settlement_id: int
    kind: str
    facility_id: int
    facility_name: str
    visit_date: date
    fund_fen: int
    reverses: int | None


class ConfirmationChange(msgspec.Struct, kw_only=True):
    """R14 interpretation: the month's figures moved after the unit confirmed them; the movements that moved them."""

    confirmed: Figures
    now: Figures
    settlements: list[ChangedSettlement]


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
    changed_since_confirmation: ConfirmationChange | None = None
    """Set when settlements recorded after the confirmation (late visits, reversals) changed the month."""


class ReportStatus(msgspec.Struct, kw_only=True):
    institution: InstitutionRef
    visits: int
    fund_fen: int
    confirmed: bool
    confirmed_at: datetime | None
    on_time: bool | None
    overdue: bool
    changed_since_confirmation: bool = False
    submitted: bool = False
    """The unit submitted its own statistics of the month."""
    submission_matches: bool | None = None
    """The latest submission agrees with the system's figures line by line; None: nothing submitted."""


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
    confirmed_disputes: int
    """P2: confirmed disputes of the year's settlements (by visit date)."""
    disputes_per_1000_visits_tenths: int | None
    """Confirmed disputes per 1,000 settled visits, in tenths (12 = 1.2 per 1,000); None without visits."""
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
    reviewed_by_name: str = ""


class SignalLine(msgspec.Struct, kw_only=True):
    """A bill line behind an item signal (R16, R18): which settlement, which line, what was billed."""

    settlement_id: int
    line_no: int
    code: str
    name: str
    category: str
    count: float
    amount_fen: int


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
    institution_name: str | None = None
    facility_name: str | None = None
    text_zh: str = ""
    """What the officer reads: the pattern in Chinese with its date, the member (masked name) and the amount."""
    settlement_ids: list[int] = []
    """The settlements behind the signal (reversed ones included: a pattern taken back is still a pattern)."""
    reversed_count: int = 0
    """How many of ``settlement_ids`` were reversed since (by the counter or by a confirmed dispute)."""
    claim_ids: list[int] = []
    """The claims behind a duplicate-receipt signal."""
    lines: list[SignalLine] = []
    """The bill lines behind an item signal (``repeated_item``, ``item_count_high``, ``self_paid_as_compliant``)."""


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


# --- adjustment fund (R13.2 interpretation) ---

FundKind = Literal["accrual", "allocation", "year_end"]


class AllocationRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    institution_id: Annotated[int, msgspec.Meta(ge=1, le=2**53)]
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    month: Annotated[int, msgspec.Meta(ge=1, le=12)]
    """The month whose actual fund payments exceeded its prepayment (it must have been cleared)."""
    amount_fen: Annotated[int, msgspec.Meta(ge=1, le=10**11)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    rule: Annotated[str, msgspec.Meta(max_length=64)] = "第九条(二)2"


class FundMovement(msgspec.Struct, kw_only=True):
    id: int
    institution: InstitutionRef
    year: int
    month: int
    """Accrual: the month prepaid; allocation: the month adjusted; year end: 12."""
    kind: FundKind
    amount_fen: int
    """Signed: accruals credit (+), allocations and the year-end settlement debit (-)."""
    balance_fen: int
    """The account's balance after this movement (never negative)."""
    reason: str
    rule: str
    created_by: str
    created_at: datetime
    created_by_name: str = ""


class FundAccount(msgspec.Struct, kw_only=True):
    institution: InstitutionRef
    accrued_fen: int
    allocated_fen: int
    settled_fen: int
    balance_fen: int
    """accrued - allocated - settled."""


class FundLedger(msgspec.Struct, kw_only=True):
    year: int
    settled: bool
    accounts: list[FundAccount]
    movements: list[FundMovement]


# --- R13.4 quality guarantee by assessment ---


class QualityAssessmentRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    score: Annotated[int, msgspec.Meta(ge=0, le=100)]
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class QualityAssessmentView(msgspec.Struct, kw_only=True):
    year: int
    institution: InstitutionRef
    score: int | None
    grade: str
    """From the policy year's table; empty when not assessed yet."""
    release_bp: int
    """Share of the withheld guarantee released: the grade's, or the year's default when not assessed."""
    assessed: bool
    note: str
    assessed_by: str | None
    assessed_by_name: str | None
    assessed_at: datetime | None


class QualityAssessmentList(msgspec.Struct, kw_only=True):
    year: int
    settled: bool
    items: list[QualityAssessmentView]


# --- R14 facility submissions ---


class SubmittedLine(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    facility_code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    visits: Annotated[int, msgspec.Meta(ge=-1_000_000, le=10_000_000)]
    bill_total_fen: Annotated[int, msgspec.Meta(ge=-(10**11), le=10**11)]
    fund_fen: Annotated[int, msgspec.Meta(ge=-(10**11), le=10**11)]
    member_fen: Annotated[int, msgspec.Meta(ge=-(10**11), le=10**11)]


class SubmissionRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A unit's own monthly statistics, one line per facility (the unit and its stations)."""

    lines: Annotated[list[SubmittedLine], msgspec.Meta(min_length=1, max_length=500)]


class Figures(msgspec.Struct, kw_only=True):
    visits: int
    bill_total_fen: int
    fund_fen: int
    member_fen: int


class FigureDifference(msgspec.Struct, kw_only=True):
    figure: Literal["visits", "bill_total_fen", "fund_fen", "member_fen"]
    submitted: int
    system: int
    difference: int
    """submitted - system."""


class ComparisonLine(msgspec.Struct, kw_only=True):
    facility_id: int
    facility_code: str
    facility_name: str
    submitted: Figures | None
    """None: the unit's submission has no line for this facility."""
    system: Figures
    differences: list[FigureDifference]


class Submission(msgspec.Struct, kw_only=True):
    id: int
    year: int
    month: int
    institution: InstitutionRef
    source: Literal["api", "upload"]
    submitted_by_name: str
    submitted_at: datetime
    matches: bool
    lines: list[ComparisonLine]
