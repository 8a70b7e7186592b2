"""The family area's SQL, as named functions."""

from __future__ import annotations

from typing import Any

from member_api.db import fetch, fetch_one, lock_for_update
from member_api.family.tables import FamilyGrant
from member_api.members.tables import Member

PENDING, ACTIVE, REVOKED = "pending", "active", "revoked"
OPEN = (PENDING, ACTIVE)


async def member_by_id_hash(id_hash: str) -> dict[str, Any] | None:
    return await fetch_one("SELECT id, name, id_masked, birth_date FROM member WHERE id_hash = {}", id_hash)


async def member_facts(member_id: int) -> dict[str, Any] | None:
    return await fetch_one(
        "SELECT id, name, id_masked, birth_date, guardian, id_hash FROM member WHERE id = {}", member_id
    )


async def lock_member(member_id: int) -> None:
    """Serialise grant changes of one member (row lock on PostgreSQL; SQLite's write transaction already does)."""
    await lock_for_update(Member.select(Member.id).where(Member.id == member_id)).run()


async def grant(grant_id: int) -> dict[str, Any] | None:
    return await fetch_one("SELECT * FROM family_grant WHERE id = {}", grant_id)


async def open_grant_between(member_id: int, relative_id: int) -> dict[str, Any] | None:
    return await fetch_one(
        "SELECT id FROM family_grant WHERE member = {} AND relative = {} AND status IN ({}, {})",
        member_id,
        relative_id,
        *OPEN,
    )


async def active_relatives(member_id: int) -> int:
    row = await fetch_one("SELECT COUNT(*) AS n FROM family_grant WHERE member = {} AND status = {}", member_id, ACTIVE)
    return int(row["n"]) if row else 0


async def active_scopes(member_id: int, relative_id: int) -> set[str]:
    row = await fetch_one(
        "SELECT scopes FROM family_grant WHERE member = {} AND relative = {} AND status = {}",
        member_id,
        relative_id,
        ACTIVE,
    )
    return set(row["scopes"].split(",")) if row else set()


async def grants_of(member_id: int) -> list[dict[str, Any]]:
    """Grants where the member is either side, newest first, with both sides' masked identity."""
    return await fetch(
        "SELECT g.*, m.name AS member_name, m.id_masked AS member_id_masked,"
        " r.name AS relative_name, r.id_masked AS relative_id_masked"
        " FROM family_grant g JOIN member m ON m.id = g.member JOIN member r ON r.id = g.relative"
        " WHERE g.member = {} OR g.relative = {} ORDER BY g.id DESC",
        member_id,
        member_id,
    )


async def guardian_and_relatives(member_id: int, scope: str) -> tuple[dict[str, Any] | None, list[int]]:
    """The member's guardian facts (``guardian``, ``birth_date``) and the relatives whose active grant includes
    ``scope``, in one statement: a notice is written for every fund movement."""
    rows = await fetch(
        "SELECT m.guardian, m.birth_date, g.relative, g.scopes FROM member m"
        " LEFT JOIN family_grant g ON g.member = m.id AND g.status = {} WHERE m.id = {} ORDER BY g.id",
        ACTIVE,
        member_id,
    )
    if not rows:
        return None, []
    relatives = [r["relative"] for r in rows if r["relative"] is not None and scope in r["scopes"].split(",")]
    return {"guardian": rows[0]["guardian"], "birth_date": rows[0]["birth_date"]}, relatives


async def update_status(grant_id: int, values: dict[str, Any]) -> None:
    await FamilyGrant.update({getattr(FamilyGrant, k): v for k, v in values.items()}).where(FamilyGrant.id == grant_id)


async def insert_grant(member_id: int, relative_id: int, scopes: str, now: Any) -> int:
    row = await fetch_one(
        "INSERT INTO family_grant (member, relative, scopes, status, requested_at, confirmed_by, ended_by)"
        " VALUES ({}, {}, {}, {}, {}, '', '') RETURNING id",
        member_id,
        relative_id,
        scopes,
        PENDING,
        now,
    )
    assert row is not None
    return int(row["id"])


async def acts_for(member_id: int, limit: int) -> list[dict[str, Any]]:
    """What others did for this member (audit events recorded by ``family.callers``), newest first."""
    return await fetch(
        "SELECT at, actor, action, data FROM audit_event WHERE action = 'acted_for' AND subject_type = 'member'"
        " AND subject_id = {} ORDER BY id DESC LIMIT {}",
        str(member_id),
        limit,
    )
