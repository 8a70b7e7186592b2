"""Referrals, newborn and referral claims, their items and receipt files (R5, R9, R10, R11)."""

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from member_api.facilities.tables import Facility
from member_api.members.tables import Member
from member_api.referrals.tables import Referral


class Claim(Table, tablename="claim"):
    """A claim for care paid up front; immutable once submitted except for its review outcome."""

    member = ForeignKey(references=Member, on_delete=OnDelete.restrict, index=True)
    submitted_by = ForeignKey(references=Member, on_delete=OnDelete.restrict)
    kind = Varchar(length=16)
    referral = ForeignKey(references=Referral, null=True, on_delete=OnDelete.restrict)
    lodged_with = ForeignKey(references=Facility, on_delete=OnDelete.restrict)
    division = Varchar(length=16, index=True)
    status = Varchar(length=16, index=True)
    reviewer_comment = Text(default="")
    paid_fen = BigInt(default=0)
    created_at = Timestamptz()
    submitted_at = Timestamptz(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decided_by = BigInt(null=True, default=None)
    review_started_at = Timestamptz(null=True, default=None)
    review_started_by = BigInt(null=True, default=None)


class ClaimItem(Table, tablename="claim_item"):
    claim = ForeignKey(references=Claim, on_delete=OnDelete.restrict, index=True)
    care_date = Date()
    facility = ForeignKey(references=Facility, null=True, on_delete=OnDelete.restrict)
    out_of_city_name = Varchar(length=200, default="")
    general_fee_fen = BigInt(default=0)
    compliant_fen = BigInt(default=0)
    non_compliant_fen = BigInt(default=0)
    status = Varchar(length=12, default="pending")
    reject_reason = Text(default="")
    fund_fen = BigInt(default=0)
    settlement_id = BigInt(null=True, default=None)
    itemised = Boolean(default=False)
    """R18: the visit's bill came as lines (``claim_line``), valued by the catalogue on its date of care; false: the
    three totals were typed (manual entry)."""


class ClaimLine(Table, tablename="claim_line"):
    """A bill line of a claimed visit as valued when the claim was made (R18); the payout pays these values."""

    item = ForeignKey(references=ClaimItem, on_delete=OnDelete.restrict, index=True)
    line_no = Integer()
    code = Varchar(length=50)
    facility_code = Varchar(length=50, null=True, default=None)
    name = Varchar(length=200, default="")
    kind = Varchar(length=16, null=True, default=None)
    category = Varchar(length=2)
    count = Numeric(digits=(14, 2))
    unit_price_fen = BigInt()
    amount_fen = BigInt()
    price_ceiling_fen = BigInt(null=True, default=None)
    selfpay_prop_bp = Integer(default=0)
    over_limit_fen = BigInt(default=0)
    preselfpay_fen = BigInt(default=0)
    selfpay_fen = BigInt(default=0)
    compliant_fen = BigInt(default=0)
    ratio_bp = Integer(default=0)
    fund_fen = BigInt(default=0)
    general_fee = Boolean(default=False)
    reasons = JSON(default="[]")


class Receipt(Table, tablename="receipt"):
    """A receipt image or itemised list for one claim item, stored by content hash."""

    claim = ForeignKey(references=Claim, on_delete=OnDelete.restrict, index=True)
    item = ForeignKey(references=ClaimItem, on_delete=OnDelete.restrict, index=True)
    sha256 = Varchar(length=64, index=True)
    content_type = Varchar(length=64)
    size = Integer()
    filename = Varchar(length=200, default="")
    reused = Boolean(default=False)
    created_at = Timestamptz()
