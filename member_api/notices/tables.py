"""Notices: one row per recipient; the row is also the outbox the push delivery drains."""

from piccolo.columns import BigInt, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
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
    push_state = Varchar(length=12, default="pending", index=True)
    """``pending`` (in the outbox), ``sent``, ``dead`` (gave up: see ``push_error``) or ``off`` (not wanted)."""
    attempts = Integer(default=0)
    lease_until = Timestamptz(null=True, default=None)
    """A worker holds the notice until then (claimed); after a failure, the earliest next attempt."""
    push_error = Varchar(length=64, null=True, default=None)
    link = Varchar(length=128, default="")
    """What the notice is about, as an H5 path (``/app/claims/12``); empty when it is the notice itself."""
    ref_id = BigInt(null=True, default=None)
    """The claim, change request or designation the notice is about (kind says which)."""


class NoticePreference(Table, tablename="notice_preference"):
    """A member's choice for one notice kind; no row means the kind's default (on)."""

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=24)
    enabled = Boolean()


class NoticeSubscription(Table, tablename="notice_subscription"):
    """One-time WeChat subscriptions (订阅消息) a resident accepted in the mini-program, per notice kind: each
    accepted subscription allows one message; sending spends one."""

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=24)
    remaining = Integer(default=0)
    updated_at = Timestamptz()
