"""Benefit accounts (one per member and year) and immutable fund movements: written only by ledger.service."""

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
    itemised = Boolean(default=False)
    """R18: the bill came as catalogue-valued lines (``movement_item``); false: three typed totals (manual entry)."""


class MovementItem(Table, tablename="movement_item"):
    """A bill line of a movement as it was valued and paid (R18): kept, whatever the catalogue says later."""

    movement = ForeignKey(references=Movement, on_delete=OnDelete.restrict, index=True)
    line_no = Integer()
    code = Varchar(length=50, index=True)
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
