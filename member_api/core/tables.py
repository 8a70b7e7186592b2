"""Kernel tables: idempotency records and the rate-limit state (shared by every area)."""

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


class RateCounter(Table, tablename="rate_counter"):
    """Events counted per (kind, key, fixed window): OTP sends, binding attempts. Unique on the three."""

    kind = Varchar(length=24)
    key_hash = Varchar(length=64)
    window_start = Timestamptz()
    n = Integer(default=0)
    expires_at = Timestamptz(index=True)


class RateBackoff(Table, tablename="rate_backoff"):
    """Attempts per (kind, key) with a growing delay after the free ones (staff login). Unique on the two."""

    kind = Varchar(length=24)
    key_hash = Varchar(length=64)
    n = Integer(default=0)
    last_at = Timestamptz()
    blocked_until = Timestamptz()
    expires_at = Timestamptz(index=True)
