"""Referrals, newborn and referral claims, their items and receipt files (R5, R9, R10, R11)."""

from piccolo.columns import BigInt, Boolean, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
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
