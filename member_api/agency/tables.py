"""Capitation books (R13), report confirmations (R14), signal reviews (R16) and review samples.

Rows here are written once and never updated: a closed month, a year close, a confirmation, a review
and a drawn sample are records the agency can be audited on. Uniqueness per period is a database index.
"""

from piccolo.columns import BigInt, Boolean, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from member_api.facilities.tables import Facility


class CapitationClose(Table, tablename="capitation_close"):
    """The books of one month closed: fund movements with ``id <= watermark`` are in them, later ones are not."""

    year = Integer()
    month = Integer()
    watermark = BigInt()
    previous_watermark = BigInt(null=True, default=None)
    closed_at = Timestamptz()
    closed_by = Varchar(length=48)


class CapitationStatement(Table, tablename="capitation_statement"):
    """One institution's month: headcount snapshot, this month's prepayment, last month's clearing, adjustments."""

    close = ForeignKey(references=CapitationClose, on_delete=OnDelete.restrict, index=True)
    year = Integer()
    month = Integer()
    institution = ForeignKey(references=Facility, on_delete=OnDelete.restrict, index=True)
    headcount = Integer()
    prepayment_headcount = Integer()
    prepayment_fen = BigInt()
    quality_guarantee_fen = BigInt()
    adjustment_fund_fen = BigInt()
    cleared_year = Integer()
    cleared_month = Integer()
    cleared_prepayment_fen = BigInt()
    cleared_actual_fen = BigInt()
    cleared_fen = BigInt()
    withheld_fen = BigInt()
    clearing_balance_fen = BigInt()
    adjustment_actual_fen = BigInt(default=0)
    adjustment_cleared_fen = BigInt(default=0)
    adjustment_withheld_fen = BigInt(default=0)
    adjustment_fen = BigInt(default=0)
    payable_fen = BigInt()


class CapitationAdjustment(Table, tablename="capitation_adjustment"):
    """Late movements of one already cleared month of one institution, re-cleared on the next open month."""

    statement = ForeignKey(references=CapitationStatement, on_delete=OnDelete.restrict, index=True)
    institution = ForeignKey(references=Facility, on_delete=OnDelete.restrict)
    touched_year = Integer()
    touched_month = Integer()
    movements = Integer()
    actual_fen = BigInt()
    cleared_fen = BigInt()
    withheld_fen = BigInt()
    paid_fen = BigInt()
    cleared_here = Boolean()


class CapitationYearEnd(Table, tablename="capitation_year_end"):
    """A year settled (R13.4-5): movements of the year with ``id <= watermark`` are its actual."""

    year = Integer(unique=True)
    watermark = BigInt()
    settled_at = Timestamptz()
    settled_by = Varchar(length=48)


class CapitationYearStatement(Table, tablename="capitation_year_statement"):
    year_end = ForeignKey(references=CapitationYearEnd, on_delete=OnDelete.restrict, index=True)
    year = Integer()
    institution = ForeignKey(references=Facility, on_delete=OnDelete.restrict, index=True)
    headcount = Integer()
    months_cleared = Integer()
    prepaid_fen = BigInt()
    package_fen = BigInt()
    actual_fen = BigInt()
    threshold_reached = Boolean()
    due_fen = BigInt()
    reward_fen = BigInt()
    returned_to_fund_fen = BigInt()
    uncompensated_overspend_fen = BigInt()
    cleared_fen = BigInt()
    withheld_fen = BigInt()
    guarantee_release_bp = Integer()
    guarantee_released_fen = BigInt()
    guarantee_forfeited_fen = BigInt()
    balance_fen = BigInt()
    assessment_score = Integer(null=True, default=None)
    assessment_grade = Varchar(length=16, default="")
    fund_accrued_fen = BigInt(default=0)
    fund_allocated_fen = BigInt(default=0)
    fund_settled_fen = BigInt(default=0)


class ReportConfirmation(Table, tablename="report_confirmation"):
    """R14: an institution's clerk confirmed last month's report; the totals as confirmed are kept."""

    year = Integer()
    month = Integer()
    institution = ForeignKey(references=Facility, on_delete=OnDelete.restrict, index=True)
    confirmed_by = BigInt()
    confirmed_at = Timestamptz()
    due_date = Date()
    on_time = Boolean()
    visits = Integer()
    bill_total_fen = BigInt()
    fund_fen = BigInt()
    member_fen = BigInt()
    settlement_watermark = BigInt(null=True, default=None)
    """Fund movements up to this id were in the figures confirmed: later ones that touch the month changed it."""


class SignalReview(Table, tablename="signal_review"):
    """R16: an officer looked at a signal and wrote down what they found."""

    signal_key = Varchar(length=160, unique=True)
    kind = Varchar(length=24, index=True)
    year = Integer()
    month = Integer()
    note = Text()
    reviewed_by = BigInt()
    reviewed_at = Timestamptz()


class ReviewSample(Table, tablename="review_sample"):
    """A month's seeded draw: the same seed over the same movements (``id <= watermark``) draws the same items."""

    year = Integer()
    month = Integer()
    seed = BigInt()
    share_bp = Integer()
    minimum = Integer()
    settlement_watermark = BigInt()
    claim_watermark = BigInt()
    drawn_at = Timestamptz()
    drawn_by = Varchar(length=48)


class ReviewSampleItem(Table, tablename="review_sample_item"):
    sample = ForeignKey(references=ReviewSample, on_delete=OnDelete.restrict, index=True)
    institution = ForeignKey(references=Facility, on_delete=OnDelete.restrict)
    kind = Varchar(length=16)
    object_id = BigInt()


class AdjustmentFundAccount(Table, tablename="adjustment_fund_account"):
    """R13.2 interpretation: one institution's 15% adjustment fund of one year. The balance is what every
    movement leaves; a CHECK keeps it from going negative and one UPDATE ... WHERE balance >= amount moves it."""

    institution = ForeignKey(references=Facility, on_delete=OnDelete.restrict, index=True)
    year = Integer()
    balance_fen = BigInt()


class AdjustmentFundMovement(Table, tablename="adjustment_fund_movement"):
    """A movement of an institution's adjustment fund: accrual of a month's 15% (at its close), an allocation
    by the officer (to a month whose actual exceeded its prepayment, with a reason and the rule cited), the
    settlement of the balance at year end. Written once; ``balance_fen`` is the account after it."""

    institution = ForeignKey(references=Facility, on_delete=OnDelete.restrict, index=True)
    year = Integer()
    month = Integer()
    kind = Varchar(length=16)
    amount_fen = BigInt()
    balance_fen = BigInt()
    reason = Text(default="")
    rule = Varchar(length=64, default="")
    created_by = Varchar(length=48)
    created_at = Timestamptz()


class QualityAssessment(Table, tablename="quality_assessment"):
    """R13.4/R15: the officer's year-end assessment of an institution (score 0-100); the grade and the share of
    the withheld quality guarantee released follow from the policy year's table."""

    year = Integer()
    institution = ForeignKey(references=Facility, on_delete=OnDelete.restrict, index=True)
    score = Integer()
    grade = Varchar(length=16)
    release_bp = Integer()
    note = Text(default="")
    assessed_by = Varchar(length=48)
    assessed_at = Timestamptz()


class FacilitySubmission(Table, tablename="facility_submission"):
    """R14: the monthly statistics a unit submitted itself (API or upload); a later submission supersedes."""

    year = Integer()
    month = Integer()
    institution = ForeignKey(references=Facility, on_delete=OnDelete.restrict, index=True)
    source = Varchar(length=16)
    submitted_by = Varchar(length=48)
    submitted_at = Timestamptz()


class FacilitySubmissionLine(Table, tablename="facility_submission_line"):
    """One facility's line of a submission (the unit or one of its stations)."""

    submission = ForeignKey(references=FacilitySubmission, on_delete=OnDelete.restrict, index=True)
    facility = ForeignKey(references=Facility, on_delete=OnDelete.restrict)
    visits = Integer()
    bill_total_fen = BigInt()
    fund_fen = BigInt()
    member_fen = BigInt()
