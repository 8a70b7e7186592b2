"""Daily clean-up of short-lived rows (``member-api housekeeping`` from cron or a Kubernetes CronJob).

Idempotency keys, rate-limit counters, one-time and binding codes, dead refresh tokens and ended sessions
only matter for a bounded time; without this they grow by every login and every counter request. Money,
audit and designation rows are never touched.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from piccolo.table import Table

from member_api.auth.tables import OtpChallenge, RefreshToken
from member_api.core import idempotency
from member_api.core.tables import IdempotencyRecord, RateBackoff, RateCounter
from member_api.db import fetch, write_transaction
from member_api.members.tables import BindingCode

SESSION_RETENTION = timedelta(days=1)  # longer than any access token of a session lives
# Sessions ended a day ago, and sessions whose refresh tokens are all gone (purged 30 days past expiry).
DEAD_SESSIONS = (
    "DELETE FROM auth_session WHERE (ended_at IS NOT NULL AND ended_at < {}) OR (created_at < {}"
    " AND NOT EXISTS (SELECT 1 FROM refresh_token r WHERE r.family = auth_session.sid)) RETURNING id"
)
OTP_RETENTION = timedelta(days=1)  # past expiry: kept a day for support questions
REFRESH_RETENTION = timedelta(days=30)  # past expiry: a replay of a dead token is refused either way
SMS_RETENTION = timedelta(days=30)  # accepted messages and their delivery receipts, for support questions


async def purge(now: datetime) -> dict[str, int]:
    """Rows removed per kind; one transaction, so a failure removes nothing."""
    async with write_transaction():
        return {
            "idempotency_records": await _delete(
                IdempotencyRecord, IdempotencyRecord.created_at < now - idempotency.RETENTION
            ),
            "rate_counters": await _delete(RateCounter, RateCounter.expires_at < now),
            "rate_backoffs": await _delete(RateBackoff, RateBackoff.expires_at < now),
            "otp_challenges": await _delete(OtpChallenge, OtpChallenge.expires_at < now - OTP_RETENTION),
            "binding_codes": await _delete(BindingCode, BindingCode.expires_at < now - OTP_RETENTION),
            "refresh_tokens": await _delete(RefreshToken, RefreshToken.expires_at < now - REFRESH_RETENTION),
            "sessions": len(await fetch(DEAD_SESSIONS, now - SESSION_RETENTION, now - SESSION_RETENTION)),
            "sms_messages": len(
                await fetch("DELETE FROM sms_message WHERE sent_at < {} RETURNING id", now - SMS_RETENTION)
            ),
        }


async def _delete(table: type[Table], where: object) -> int:
    rows = await table.delete().where(where).returning(table.id)  # type: ignore[arg-type]
    return len(rows)
