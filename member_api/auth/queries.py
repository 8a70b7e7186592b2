"""Hand-written SQL of the auth area: single-use codes and tokens, decided by one statement each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from member_api.db import fetch, fetch_one

# One try at the newest live code of a phone: counted (and refused past the limit) by the update itself.
TAKE_OTP_TRY = (
    "UPDATE otp_challenge SET attempts = attempts + 1"
    " WHERE id = (SELECT MAX(id) FROM otp_challenge WHERE phone_hash = {})"
    " AND used = {} AND expires_at > {} AND attempts < {} RETURNING id, code_hash"
)
SPEND_OTP = "UPDATE otp_challenge SET used = {} WHERE id = {} AND used = {} RETURNING id"
# Rotation: exactly one caller turns an unused token into a used one.
SPEND_REFRESH = (
    "UPDATE refresh_token SET used_at = {} WHERE token_hash = {} AND used_at IS NULL AND revoked = {}"
    " AND expires_at > {} AND EXISTS (SELECT 1 FROM auth_session s WHERE s.sid = refresh_token.family"
    " AND s.ended_at IS NULL) RETURNING family, subject, role, facility_id"
)


async def take_otp_try(phone_hash: str, now: datetime, max_attempts: int) -> dict[str, Any] | None:
    return await fetch_one(TAKE_OTP_TRY, phone_hash, False, now, max_attempts)


async def spend_otp(challenge_id: int) -> bool:
    return bool(await fetch(SPEND_OTP, True, challenge_id, False))


async def spend_refresh(token_hash: str, now: datetime) -> dict[str, Any] | None:
    return await fetch_one(SPEND_REFRESH, now, token_hash, False, now)


async def refresh_row(token_hash: str) -> dict[str, Any] | None:
    return await fetch_one(
        "SELECT family, subject, used_at, revoked, expires_at FROM refresh_token WHERE token_hash = {}", token_hash
    )


async def session_open(sid: str) -> bool:
    row = await fetch_one("SELECT ended_at FROM auth_session WHERE sid = {}", sid)
    return row is not None and row["ended_at"] is None


async def end_session(sid: str, reason: str, now: datetime) -> None:
    await fetch(
        "UPDATE auth_session SET ended_at = {}, end_reason = {} WHERE sid = {} AND ended_at IS NULL", now, reason, sid
    )
    await fetch("UPDATE refresh_token SET revoked = {} WHERE family = {}", True, sid)


async def end_sessions_of(subject: str, reason: str, now: datetime) -> list[str]:
    """End every open session of ``subject`` (a password change); the ended session ids."""
    rows = await fetch(
        "UPDATE auth_session SET ended_at = {}, end_reason = {} WHERE subject = {} AND ended_at IS NULL RETURNING sid",
        now,
        reason,
        subject,
    )
    await fetch("UPDATE refresh_token SET revoked = {} WHERE subject = {}", True, subject)
    return [r["sid"] for r in rows]


async def staff_by_username(username: str) -> dict[str, Any] | None:
    return await fetch_one("SELECT id, password_hash, role, facility, active FROM staff WHERE username = {}", username)


async def staff_names(ids: list[int]) -> dict[int, str]:
    """{staff id: the person's name, or the user name when none was given}."""
    if not ids:
        return {}
    marks = ", ".join("{}" for _ in ids)
    rows = await fetch(f"SELECT id, username, display_name FROM staff WHERE id IN ({marks})", *ids)  # noqa: S608
    return {r["id"]: r["display_name"] or r["username"] for r in rows}
