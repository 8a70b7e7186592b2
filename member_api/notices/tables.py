"""Notices: one row per recipient; the row is also the outbox the push delivery drains."""

from piccolo.columns import BigInt, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from member_api.members.tables import Member


class Notice(Table, tablename="notice"):
    recipient = ForeignKey(references=Member, on_delete=OnDelete.restrict, index=True)
    about = ForeignKey(references=Member, on_delete=OnDelete.restrict)
    kind = Varchar(length=24)
    movement_id = BigInt(null=True, default=None)
    dispute_id = BigInt(null=True, default=None)
    text_zh = Text()
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None, index=True)
