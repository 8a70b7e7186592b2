"""Hand-written SQL of the members area: binding, binding codes and unbinding (one statement each), and the
registry's staging table with the set-based upsert from it.

Registry writes go through a temporary table, ``registry_stage``: one row per validated input line (hashes and masks
already computed in Python, never the ID number or phone itself), loaded in bulk (COPY on PostgreSQL), then applied
to ``member``, guardianship and ``enrollment`` by a few statements, inside the caller's transaction.
Every statement here runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from member_api.db import copy_records, current_engine, fetch, fetch_one, is_sqlite
from member_api.members.tables import Account, Enrollment, Member

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


STAGE = "registry_stage"
STAGE_COLUMNS = (
    "line",
    "insurance_no",
    "name",
    "id_hash",
    "id_masked",
    "birth_date",
    "sex",
    "division",
    "phone_hash",
    "phone_masked",
    "credential_subject",
    "guardian_insurance_no",
    "year",
    "paid_up",
    "enrolled_on",
)
_STAGE_BODY = (
    "(line integer NOT NULL, insurance_no text NOT NULL, name text NOT NULL, id_hash text NOT NULL,"
    " id_masked text NOT NULL, birth_date date NOT NULL, sex text NOT NULL, division text NOT NULL, phone_hash text,"
    " phone_masked text NOT NULL, credential_subject text NOT NULL, guardian_insurance_no text, year integer,"
    " paid_up boolean NOT NULL, enrolled_on date, rejected boolean NOT NULL DEFAULT false,"
    " superseded boolean NOT NULL DEFAULT false)"
)
# Memory for the few sorts and hashes over the whole stage (this transaction only; the default 4 MB spills to disk).
PG_WORK_MEM = "128MB"


async def create_stage() -> None:
    """An empty stage, private to this connection and gone with the transaction (PostgreSQL: ON COMMIT DROP;
    SQLite: each transaction has its own connection). Reused, emptied, by a later call in the same transaction."""
    if is_sqlite(current_engine()):
        await fetch(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} {_STAGE_BODY}")
    else:
        await fetch(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} {_STAGE_BODY} ON COMMIT DROP")
        await fetch(f"SET LOCAL work_mem = '{PG_WORK_MEM}'")
    await fetch(f"DELETE FROM {STAGE}")  # noqa: S608 (constant)


async def drop_stage() -> None:
    await fetch(f"DROP TABLE IF EXISTS {'temp' if is_sqlite(current_engine()) else 'pg_temp'}.{STAGE}")


async def load_stage(records: list[tuple[object, ...]]) -> None:
    """Append rows shaped like ``STAGE_COLUMNS`` (COPY on PostgreSQL, executemany on SQLite)."""
    await copy_records(STAGE, STAGE_COLUMNS, records)


# A second line for an ID number already given to another insurance number earlier in the file is a duplicate;
# so is a second line for the same insurance number and year. Only groups with more than one line are looked at.
_REJECT_ID_OWNED_BY_ANOTHER = (
    f"UPDATE {STAGE} SET rejected = true WHERE line IN (SELECT line FROM ("  # noqa: S608 (constants only)
    "SELECT line, insurance_no, first_value(insurance_no) OVER (PARTITION BY id_hash ORDER BY line) AS owner"
    f" FROM {STAGE} WHERE id_hash IN (SELECT id_hash FROM {STAGE} GROUP BY id_hash HAVING count(*) > 1)"
    ") t WHERE insurance_no <> owner)"
)
_REJECT_REPEATED_YEAR = (
    f"UPDATE {STAGE} SET rejected = true WHERE line IN (SELECT line FROM ("  # noqa: S608
    "SELECT line, row_number() OVER (PARTITION BY insurance_no, year ORDER BY line) AS n"
    f" FROM {STAGE} WHERE NOT rejected AND insurance_no IN ("
    f"SELECT insurance_no FROM {STAGE} WHERE NOT rejected GROUP BY insurance_no, year HAVING count(*) > 1)"
    ") t WHERE n > 1)"
)


async def reject_duplicates(sample: int) -> tuple[int, list[int]]:
    """Mark duplicate lines of the stage rejected; (how many, the first ``sample`` line numbers)."""
    await fetch(_REJECT_ID_OWNED_BY_ANOTHER)
    await fetch(_REJECT_REPEATED_YEAR)
    counted = await fetch_one(f"SELECT count(*) AS n FROM {STAGE} WHERE rejected")  # noqa: S608
    count = int(counted["n"]) if counted else 0
    if not count:
        return 0, []
    rows = await fetch(f"SELECT line FROM {STAGE} WHERE rejected ORDER BY line LIMIT {{}}", sample)  # noqa: S608
    return count, [int(r["line"]) for r in rows]


# The same person may come once per enrollment year: the last line sets the member's fields. Found by hashing
# (only people with several lines are joined back), so no sort of the whole stage.
_MARK_SUPERSEDED = (
    f"UPDATE {STAGE} SET superseded = true WHERE line IN (SELECT s.line FROM {STAGE} s JOIN ("  # noqa: S608
    f"SELECT insurance_no, max(line) AS last FROM {STAGE} WHERE NOT rejected GROUP BY insurance_no HAVING count(*) > 1"
    ") g ON g.insurance_no = s.insurance_no WHERE NOT s.rejected AND s.line < g.last)"
)
_PEOPLE_COUNT = (
    "SELECT count(*) AS people, count(m.id) AS existing"  # noqa: S608
    f" FROM {STAGE} s LEFT JOIN member m ON m.insurance_no = s.insurance_no WHERE NOT s.rejected AND NOT s.superseded"
)
_MEMBER_FIELDS = ("name", "id_hash", "id_masked", "birth_date", "sex", "division", "phone_hash", "phone_masked")
# Only new or changed people reach the upsert (one hash join instead of a conflict check per line): a monthly
# re-import of the same registry rewrites nothing. The credential subject of an existing member is never changed
# (codes already on screens stay valid).
_MEMBER_UPSERT = (
    f"INSERT INTO member (insurance_no, {', '.join(_MEMBER_FIELDS)}, credential_subject)"  # noqa: S608
    f" SELECT s.insurance_no, {', '.join(f's.{c}' for c in _MEMBER_FIELDS)}, s.credential_subject"
    f" FROM {STAGE} s LEFT JOIN member m ON m.insurance_no = s.insurance_no"
    " WHERE NOT s.rejected AND NOT s.superseded AND (m.id IS NULL"
    f" OR ({', '.join(f'm.{c}' for c in _MEMBER_FIELDS)})"
    f" IS DISTINCT FROM ({', '.join(f's.{c}' for c in _MEMBER_FIELDS)}))"
    f" ON CONFLICT (insurance_no) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _MEMBER_FIELDS)}"
)


_PHONE_CHANGES = (
    "SELECT m.id AS member, s.phone_hash FROM "  # noqa: S608
    f"{STAGE} s JOIN member m ON m.insurance_no = s.insurance_no"
    " WHERE NOT s.rejected AND NOT s.superseded AND m.phone_hash IS DISTINCT FROM s.phone_hash"
)


async def upsert_members_from_stage() -> tuple[int, int, list[tuple[int, str | None]]]:
    """THE member upsert of the registry (import and demo data): (inserted, updated) people, by insurance number,
    and the (member, new phone hash) of existing members whose phone on file changes (their bindings are re-checked).
    """
    await fetch(_MARK_SUPERSEDED)
    changes = [(int(r["member"]), r["phone_hash"]) for r in await fetch(_PHONE_CHANGES)]
    counted = await fetch_one(_PEOPLE_COUNT)
    people, existing = (int(counted["people"]), int(counted["existing"])) if counted else (0, 0)
    if people:
        await fetch(_MEMBER_UPSERT)
    return people - existing, existing, changes


# The last line naming a guardian sets it (a guardian number not in the registry clears it, as before).
_GUARDIANS = (
    "UPDATE member SET guardian = g.guardian_id FROM ("  # noqa: S608
    "SELECT s.insurance_no, gm.id AS guardian_id FROM ("
    "SELECT insurance_no, guardian_insurance_no, row_number() OVER (PARTITION BY insurance_no ORDER BY line DESC) AS n"
    f" FROM {STAGE} WHERE guardian_insurance_no IS NOT NULL AND NOT rejected"
    ") s LEFT JOIN member gm ON gm.insurance_no = s.guardian_insurance_no WHERE s.n = 1"
    ") g WHERE member.insurance_no = g.insurance_no AND member.guardian IS DISTINCT FROM g.guardian_id"
)
_ENROLLMENTS = (
    "INSERT INTO enrollment (member, year, paid_up, enrolled_on)"  # noqa: S608
    f" SELECT m.id, s.year, s.paid_up, s.enrolled_on FROM {STAGE} s JOIN member m ON m.insurance_no = s.insurance_no"
    " LEFT JOIN enrollment e ON e.member = m.id AND e.year = s.year"
    " WHERE NOT s.rejected AND s.year IS NOT NULL AND s.enrolled_on IS NOT NULL"
    " AND (e.id IS NULL OR (e.paid_up, e.enrolled_on) IS DISTINCT FROM (s.paid_up, s.enrolled_on))"
    " ON CONFLICT (member, year) DO UPDATE SET paid_up = excluded.paid_up, enrolled_on = excluded.enrolled_on"
)


async def set_guardians_from_stage() -> None:
    await fetch(_GUARDIANS)


async def upsert_enrollments_from_stage() -> None:
    await fetch(_ENROLLMENTS)


async def members_by_id(member_ids: list[int]) -> list[dict[str, Any]]:
    """Registry rows by id, in id order."""
    if not member_ids:
        return []
    return await Member.select().where(Member.id.is_in(list(member_ids))).order_by(Member.id)


async def members_where_guardian(guardian_id: int) -> list[dict[str, Any]]:
    """Registry rows of the members whose guardian is ``guardian_id``, in id order."""
    return await Member.select().where(Member.guardian == guardian_id).order_by(Member.id)


async def enrollments_of(member_ids: list[int]) -> list[dict[str, Any]]:
    """Enrollment rows of these members, oldest year first."""
    return await Enrollment.select().where(Enrollment.member.is_in(list(member_ids))).order_by(Enrollment.year)


async def member_facts(member_id: int) -> dict[str, Any] | None:
    """id, division, birth_date and guardian of one registry record, or None."""
    return await (
        Member.select(Member.id, Member.division, Member.birth_date, Member.guardian)
        .where(Member.id == member_id)
        .first()
    )


async def member_id_by_id_hash(id_hash: str) -> int | None:
    row = await Member.select(Member.id).where(Member.id_hash == id_hash).first()
    return int(row["id"]) if row else None


async def first_enrollment(member_id: int) -> dict[str, Any] | None:
    """The member's earliest enrollment row (R5: a newborn's enrollment date), or None."""
    return await Enrollment.select().where(Enrollment.member == member_id).order_by(Enrollment.year).first()


async def account_link(account_id: int) -> dict[str, Any] | None:
    """The member an account is bound to and why it was unbound, or None for an unknown account."""
    return await Account.select(Account.member, Account.unbound_reason).where(Account.id == account_id).first()


async def account_row(account_id: int) -> dict[str, Any] | None:
    return await Account.select().where(Account.id == account_id).first()


async def members_by_insurance_no(insurance_no: str) -> list[dict[str, Any]]:
    return await Member.select().where(Member.insurance_no == insurance_no)


async def insurance_numbers(member_ids: list[int]) -> dict[int, str]:
    rows = await Member.select(Member.id, Member.insurance_no).where(Member.id.is_in(member_ids))
    return {r["id"]: r["insurance_no"] for r in rows}
