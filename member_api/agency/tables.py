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
