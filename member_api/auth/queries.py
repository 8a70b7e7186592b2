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


async def record_sms(provider: str, message_id: str, phone_hash: str, purpose: str, now: datetime) -> None:
    await fetch(
        "INSERT INTO sms_message (provider, message_id, phone_hash, purpose, sent_at, status)"
        " VALUES ({}, {}, {}, {}, {}, {})",
        provider,
        message_id,
        phone_hash,
        purpose,
        now,
        "sent",
    )


async def sms_receipt(provider: str, message_id: str, status: str, code: str, at: datetime) -> bool:
    """A provider's delivery receipt; a repeated receipt changes nothing."""
    rows = await fetch(
        "UPDATE sms_message SET status = {}, status_code = {}, status_at = {}"
        " WHERE provider = {} AND message_id = {} AND status = {} RETURNING id",
        status,
        code[:64],
        at,
        provider,
        message_id,
        "sent",
    )
    return bool(rows)


async def sms_status(provider: str, message_id: str) -> str | None:
    row = await fetch_one(
        "SELECT status FROM sms_message WHERE provider = {} AND message_id = {}", provider, message_id
    )
    return str(row["status"]) if row else None


async def wechat_identity(openid: str) -> dict[str, Any] | None:
    return await fetch_one("SELECT id, account, app_id FROM wechat_identity WHERE openid = {}", openid)


async def wechat_identity_of(account_id: int) -> dict[str, Any] | None:
    return await fetch_one("SELECT id, openid FROM wechat_identity WHERE account = {}", account_id)


async def link_wechat(
    app_id: str, openid: str, unionid: str | None, account_id: int, proof: str, now: datetime
) -> bool:
    """Link once: the openid and the account are each unique, so a second link of either inserts nothing."""
    rows = await fetch(
        "INSERT INTO wechat_identity (app_id, openid, unionid, account, linked_at, proof)"
        " VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT DO NOTHING RETURNING id",
        app_id,
        openid,
        unionid,
        account_id,
        now,
        proof,
    )
    return bool(rows)


async def unlink_wechat(account_id: int) -> bool:
    return bool(await fetch("DELETE FROM wechat_identity WHERE account = {} RETURNING id", account_id))


async def wechat_token(app_id: str) -> dict[str, Any] | None:
    return await fetch_one("SELECT access_token, expires_at FROM wechat_token WHERE app_id = {}", app_id)


async def store_wechat_token(app_id: str, token: str, expires_at: datetime, now: datetime) -> None:
    await fetch(
        "INSERT INTO wechat_token (app_id, access_token, expires_at, fetched_at) VALUES ({}, {}, {}, {})"
        " ON CONFLICT (app_id) DO UPDATE SET access_token = excluded.access_token,"
        " expires_at = excluded.expires_at, fetched_at = excluded.fetched_at",
        app_id,
        token,
        expires_at,
        now,
    )


async def openids_of_members(member_ids: list[int]) -> dict[int, str]:
    """The WeChat openid of each member's bound phone account, where it has one."""
    found: dict[int, str] = {}
    for member_id in member_ids:
        row = await fetch_one(
            "SELECT w.openid FROM wechat_identity w JOIN account a ON a.id = w.account WHERE a.member = {}",
            member_id,
        )
        if row:
            found[member_id] = str(row["openid"])
    return found
