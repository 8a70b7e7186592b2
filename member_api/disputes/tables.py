"""Disputes of counter settlements (P2): immutable once decided; a confirmed one names its reversal."""

from piccolo.columns import BigInt, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from member_api.facilities.tables import Facility
from member_api.members.tables import Member


class Dispute(Table, tablename="dispute"):
    settlement_id = BigInt(index=True)
    member = ForeignKey(references=Member, on_delete=OnDelete.restrict, index=True)
    facility = ForeignKey(references=Facility, on_delete=OnDelete.restrict, index=True)
    filed_by = Varchar(length=48)
    reason = Varchar(length=24)
    text = Text(default="")
    photo_sha256 = Varchar(length=64, default="")
    photo_content_type = Varchar(length=64, default="")
    status = Varchar(length=16, index=True)
    taken_by = BigInt(null=True, default=None)
    decided_by = BigInt(null=True, default=None)
    decision_reason = Text(default="")
    reversal_id = BigInt(null=True, default=None)
    created_at = Timestamptz()
    decided_at = Timestamptz(null=True, default=None)
