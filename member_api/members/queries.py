"""Hand-written SQL of the members area: binding, binding codes and unbinding, one statement each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from member_api.db import fetch, fetch_one

MEMBER_BY_ID_HASH = "SELECT id, name, id_masked, phone_hash FROM member WHERE id_hash = {}"
ACCOUNT = "SELECT id, phone_hash, phone_masked, member, unbound_reason FROM account WHERE id = {}"
# The unique index account_one_per_member refuses a second account for one record (UniqueViolation).
BIND = "UPDATE account SET member = {}, unbound_reason = NULL, unbound_at = NULL WHERE id = {}"
UNBIND_OTHERS = (
    "UPDATE account SET member = NULL, unbound_reason = {}, unbound_at = {} WHERE member = {} AND id <> {} RETURNING id"
)
UNBIND_NOT_PHONE = (
    "UPDATE account SET member = NULL, unbound_reason = {}, unbound_at = {}"
    " WHERE member = {} AND phone_hash <> {} RETURNING id"
)
UNBIND_ALL = "UPDATE account SET member = NULL, unbound_reason = {}, unbound_at = {} WHERE member = {} RETURNING id"
EXPIRE_CODES = "UPDATE binding_code SET expires_at = {} WHERE account = {} AND used_at IS NULL AND expires_at > {}"
NEW_CODE = (
    "INSERT INTO binding_code (account, code_hash, expires_at, used_at, used_by, created_at)"
    " VALUES ({}, {}, {}, NULL, NULL, {})"
)
# Single use: one statement turns a live code into a spent one.
SPEND_CODE = (
    "UPDATE binding_code SET used_at = {}, used_by = {} WHERE code_hash = {} AND used_at IS NULL AND expires_at > {}"
    " RETURNING account"
)


async def member_by_id_hash(id_hash: str) -> dict[str, Any] | None:
    return await fetch_one(MEMBER_BY_ID_HASH, id_hash)


async def account(account_id: int) -> dict[str, Any] | None:
    return await fetch_one(ACCOUNT, account_id)


async def bind(account_id: int, member_id: int) -> None:
    await fetch(BIND, member_id, account_id)


async def unbind_others(member_id: int, keep_account: int, reason: str, now: datetime) -> list[int]:
    return [r["id"] for r in await fetch(UNBIND_OTHERS, reason, now, member_id, keep_account)]


async def unbind_unless_phone(member_id: int, phone_hash: str | None, reason: str, now: datetime) -> list[int]:
    """Unbind the accounts of the record whose phone is not ``phone_hash`` (all of them when it is None)."""
    if phone_hash is None:
        return [r["id"] for r in await fetch(UNBIND_ALL, reason, now, member_id)]
    return [r["id"] for r in await fetch(UNBIND_NOT_PHONE, reason, now, member_id, phone_hash)]


async def new_binding_code(account_id: int, code_hash: str, expires_at: datetime, now: datetime) -> None:
    """The account's new code; its earlier unused codes die with it."""
    await fetch(EXPIRE_CODES, now, account_id, now)
    await fetch(NEW_CODE, account_id, code_hash, expires_at, now)


async def spend_binding_code(code_hash: str, actor: str, now: datetime) -> int | None:
    row = await fetch_one(SPEND_CODE, now, actor, code_hash, now)
    return int(row["account"]) if row else None
