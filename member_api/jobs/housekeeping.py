"""Daily clean-up of short-lived rows (``member-api housekeeping`` from cron or a Kubernetes CronJob).

Idempotency keys, rate-limit events, one-time codes and dead refresh tokens only matter for a bounded
time; without this they grow by every login and every counter request. Money, audit and designation
rows are never touched.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from piccolo.table import Table

from member_api.auth.tables import OtpChallenge, RefreshToken
from member_api.core import idempotency
from member_api.core.tables import IdempotencyRecord, RateEvent
from member_api.db import write_transaction

RATE_EVENT_RETENTION = timedelta(days=2)  # the longest limit window is one day
OTP_RETENTION = timedelta(days=1)  # past expiry: kept a day for support questions
REFRESH_RETENTION = timedelta(days=30)  # past expiry: a replay of a dead token is refused either way


async def purge(now: datetime) -> dict[str, int]:
    """Rows removed per kind; one transaction, so a failure removes nothing."""
    async with write_transaction():
        return {
            "idempotency_records": await _delete(
                IdempotencyRecord, IdempotencyRecord.created_at < now - idempotency.RETENTION
            ),
            "rate_events": await _delete(RateEvent, RateEvent.at < now - RATE_EVENT_RETENTION),
            "otp_challenges": await _delete(OtpChallenge, OtpChallenge.expires_at < now - OTP_RETENTION),
            "refresh_tokens": await _delete(RefreshToken, RefreshToken.expires_at < now - REFRESH_RETENTION),
        }


async def _delete(table: type[Table], where: object) -> int:
    rows = await table.delete().where(where).returning(table.id)  # type: ignore[arg-type]
    return len(rows)
