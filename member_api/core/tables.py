"""Kernel tables: idempotency records and counted rate-limit events (shared by every area)."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class IdempotencyRecord(Table, tablename="idempotency_record"):
    """The first response to an ``Idempotency-Key`` of one caller, replayed for its repeats."""

    scope = Varchar(length=48)
    key = Varchar(length=255)
    fingerprint = Varchar(length=64)
    state = Varchar(length=12)
    status_code = Integer(null=True, default=None)
    body = Text(default="")
    created_at = Timestamptz(index=True)
    updated_at = Timestamptz()


class RateEvent(Table, tablename="rate_event"):
    """Counted events (OTP sends per client, binding failures) for limits shared by all replicas."""

    kind = Varchar(length=24)
    key_hash = Varchar(length=64)
    at = Timestamptz(index=True)
