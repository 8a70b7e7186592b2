"""Benefit accounts (one per member and year) and immutable fund movements: written only by ledger.service."""

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from member_api.facilities.tables import Facility
from member_api.members.tables import Member


class BenefitAccount(Table, tablename="benefit_account"):
    """Used amounts of a member's annual cap; locked by every settlement (ARCHITECTURE: Cap accounting)."""

    member = ForeignKey(references=Member, on_delete=OnDelete.restrict)
    year = Integer()
    used_fen = BigInt(default=0)
    used_out_of_city_fen = BigInt(default=0)
    updated_at = Timestamptz()


class Movement(Table, tablename="movement"):
    """A fund movement: a counter settlement, a claim payout or a reversal. Never updated or deleted."""

    member = ForeignKey(references=Member, on_delete=OnDelete.restrict)
    facility = ForeignKey(references=Facility, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=16)
    year = Integer()
    visit_date = Date()
    clerk_id = BigInt(null=True, default=None)
    general_fee_fen = BigInt(default=0)
    compliant_fen = BigInt(default=0)
    non_compliant_fen = BigInt(default=0)
    emergency = Boolean(default=False)
    referral_id = BigInt(null=True, default=None)
    out_of_city = Boolean(default=False)
    fund_fen = BigInt()
    member_fen = BigInt()
    lines = JSON(default="[]")
    reasons = JSON(default="[]")
    repeat_same_day = Boolean(default=False)
    credential_jti = Varchar(length=32, null=True, default=None, unique=True)
    reverses = BigInt(null=True, default=None, unique=True)
    reason_text = Text(default="")
    created_at = Timestamptz()
