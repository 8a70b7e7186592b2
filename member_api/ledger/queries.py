"""The ledger's hand-written SQL, as named functions. Rows come back in one shape: the table's own columns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from member_api.catalogue.schemas import ITEM_COLUMNS
from member_api.db import current_engine, fetch, fetch_one, gate, is_sqlite
from member_api.ledger.tables import Movement

MOVEMENT_COLUMNS = tuple(c._meta.db_column_name for c in Movement._meta.non_default_columns)
_INSERT_MOVEMENT = "INSERT INTO movement ({}) VALUES ({}) RETURNING *".format(  # noqa: S608 - names from the Table
    ", ".join(MOVEMENT_COLUMNS), ", ".join("{}" for _ in MOVEMENT_COLUMNS)
)


async def lock_account(member_id: int, year: int, now: datetime) -> dict[str, Any]:
    """The member's account for the year, created on first use and row-locked, in one statement.

    On PostgreSQL the upsert's row lock holds to the end of the transaction; on SQLite the transaction
    already holds the database's write lock (BEGIN IMMEDIATE). The wait for the lock is bounded (``lock_timeout``)
    and so is the number of this worker's requests waiting on one account (``gate``): an account locked elsewhere
    never ties up every pooled connection.
    """
    async with gate(f"account:{member_id}:{year}"):
        row = await fetch_one(
            "INSERT INTO benefit_account (member, year, used_fen, used_out_of_city_fen, updated_at)"
            " VALUES ({}, {}, 0, 0, {}) ON CONFLICT (member, year) DO UPDATE SET updated_at = excluded.updated_at"
            " RETURNING id, used_fen, used_out_of_city_fen",
            member_id,
            year,
            now,
        )
    assert row is not None
    return row


async def account(member_id: int, year: int) -> dict[str, Any] | None:
    return await fetch_one(
        "SELECT used_fen, used_out_of_city_fen FROM benefit_account WHERE member = {} AND year = {}", member_id, year
    )


async def set_used(account_id: int, used_fen: int, used_out_of_city_fen: int, now: datetime) -> None:
    await fetch(
        "UPDATE benefit_account SET used_fen = {}, used_out_of_city_fen = {}, updated_at = {} WHERE id = {}",
        used_fen,
        used_out_of_city_fen,
        now,
        account_id,
    )


async def insert_movement(values: dict[str, Any]) -> dict[str, Any]:
    row = await fetch_one(_INSERT_MOVEMENT, *(values[c] for c in MOVEMENT_COLUMNS))
    assert row is not None
    return row


_SAME_DAY = (
    "EXISTS (SELECT 1 FROM movement WHERE member = {} AND facility = {} AND visit_date = {} AND kind = 'counter')"
)
_RECORD = (
    "WITH recorded AS (INSERT INTO movement ({}) VALUES ({}) RETURNING *),"
    " used AS (UPDATE benefit_account SET used_fen = {{}}, used_out_of_city_fen = {{}}, updated_at = {{}}"
    " WHERE id = {{}} RETURNING id) SELECT recorded.* FROM recorded, used"
)
_RECORD_COUNTER = _RECORD.format(  # names from the Table; values are parameters
    ", ".join(MOVEMENT_COLUMNS), ", ".join(_SAME_DAY if c == "repeat_same_day" else "{}" for c in MOVEMENT_COLUMNS)
)
_RECORD_GIVEN = _RECORD.format(", ".join(MOVEMENT_COLUMNS), ", ".join("{}" for _ in MOVEMENT_COLUMNS))


async def record_movement(
    values: dict[str, Any], account_id: int, used: Any, *, same_day_check: bool
) -> dict[str, Any]:
    """Insert the movement and set the (locked) account's used amounts to ``used``; with ``same_day_check`` (a
    counter visit, R16) ``repeat_same_day`` is decided here, after the account lock was granted.

    PostgreSQL: one round trip (a data-modifying CTE; the same-day check is a subquery of the insert, a statement
    that starts after the lock, so it sees every movement committed before). SQLite: one statement after the other.
    """
    if is_sqlite(current_engine()):
        if same_day_check:
            repeat = await counter_visit_exists(values["member"], values["facility"], values["visit_date"])
            values = {**values, "repeat_same_day": repeat}
        row = await insert_movement(values)
        await set_used(account_id, used.used_fen, used.used_out_of_city_fen, values["created_at"])
        return row
    args: list[object] = []
    for column in MOVEMENT_COLUMNS:
        if column == "repeat_same_day" and same_day_check:
            args += [values["member"], values["facility"], values["visit_date"]]
        else:
            args.append(values[column])
    found = await fetch_one(
        _RECORD_COUNTER if same_day_check else _RECORD_GIVEN,
        *args,
        used.used_fen,
        used.used_out_of_city_fen,
        values["created_at"],
        account_id,
    )
    assert found is not None
    return found


async def movement(movement_id: int) -> dict[str, Any] | None:
    return await fetch_one("SELECT * FROM movement WHERE id = {}", movement_id)


async def member_movement(member_id: int, movement_id: int) -> dict[str, Any] | None:
    return await fetch_one("SELECT * FROM movement WHERE id = {} AND member = {}", movement_id, member_id)


async def reversal_of(movement_id: int) -> dict[str, Any] | None:
    return await fetch_one("SELECT id FROM movement WHERE reverses = {}", movement_id)


async def reversals_of(ids: list[int]) -> dict[int, int]:
    """{original id: reversal id} for the ids that were reversed."""
    if not ids:
        return {}
    marks = ", ".join("{}" for _ in ids)
    rows = await fetch(f"SELECT id, reverses FROM movement WHERE reverses IN ({marks})", *ids)  # noqa: S608
    return {r["reverses"]: r["id"] for r in rows}


async def jti_used(jti: str) -> bool:
    return await fetch_one("SELECT 1 AS used FROM movement WHERE credential_jti = {}", jti) is not None


async def used_jtis(jtis: list[str]) -> list[str]:
    """Which of these e-credential ids a movement carries (unique index on credential_jti)."""
    if not jtis:
        return []
    marks = ", ".join("{}" for _ in jtis)
    rows = await fetch(f"SELECT credential_jti FROM movement WHERE credential_jti IN ({marks})", *jtis)  # noqa: S608
    return [r["credential_jti"] for r in rows]


async def member_movement_by_credential(member_id: int, jtis: list[str]) -> dict[str, Any] | None:
    """The member's movement settled with one of these e-credential ids (unique index on credential_jti)."""
    if not jtis:
        return None
    marks = ", ".join("{}" for _ in jtis)
    return await fetch_one(
        f"SELECT * FROM movement WHERE credential_jti IN ({marks}) AND member = {{}}",  # noqa: S608
        *jtis,
        member_id,
    )


async def counter_visit_exists(member_id: int, facility_id: int, day: date) -> bool:
    return (
        await fetch_one(
            "SELECT 1 AS hit FROM movement WHERE member = {} AND facility = {} AND visit_date = {}"
            " AND kind = 'counter' LIMIT 1",
            member_id,
            facility_id,
            day,
        )
        is not None
    )


async def member_page(
    member_id: int,
    year: int | None,
    kind: str | None,
    facility_id: int | None,
    before_id: int | None,
    limit: int,
    *,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
) -> list[dict[str, Any]]:
    """Newest first by id (keyset): the filters are fixed fragments, the values parameters.

    ``created_from`` / ``created_before`` bound the recording time [from, before) (FHIR ``_lastUpdated``).
    """
    where, args = ["member = {}"], [member_id]
    filters: tuple[tuple[str, Any], ...] = (
        ("year = {}", year),
        ("kind = {}", kind),
        ("facility = {}", facility_id),
        ("created_at >= {}", created_from),
        ("created_at < {}", created_before),
    )
    for fragment, value in filters:
        if value:
            where.append(fragment)
            args.append(value)
    if before_id:
        where.append("id < {}")
        args.append(before_id)
    sql = f"SELECT * FROM movement WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT {{}}"  # noqa: S608
    return await fetch(sql, *args, limit)


async def member_year_rows(member_id: int, year: int) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT visit_date, facility, fund_fen, member_fen, kind FROM movement WHERE member = {} AND year = {}",
        member_id,
        year,
    )


async def facility_movements(
    facility_id: int, created_from: datetime, created_before: datetime
) -> list[dict[str, Any]]:
    """Counter settlements and reversals recorded at a facility in [from, before), newest first (the counter's day)."""
    return await fetch(
        "SELECT * FROM movement WHERE facility = {} AND kind IN ('counter', 'reversal')"
        " AND created_at >= {} AND created_at < {} ORDER BY id DESC LIMIT 500",
        facility_id,
        created_from,
        created_before,
    )


async def facility_counter_rows(
    facility_id: int, created_from: datetime, created_before: datetime
) -> list[dict[str, Any]]:
    """Every counter settlement and reversal recorded at a facility in [from, before), oldest first, without a cap
    on the count (daily reconciliation lists all of them)."""
    return await fetch(
        "SELECT * FROM movement WHERE facility = {} AND kind IN ('counter', 'reversal')"
        " AND created_at >= {} AND created_at < {} ORDER BY id",
        facility_id,
        created_from,
        created_before,
    )


async def insert_items(movement_id: int, rows: list[tuple[object, ...]]) -> None:
    """A movement's lines (``ITEM_COLUMNS`` order) in one multi-row statement: one round trip whatever the count."""
    if not rows:
        return
    row_marks = "(" + ", ".join("{}" for _ in range(len(ITEM_COLUMNS) + 1)) + ")"
    sql = (
        f"INSERT INTO movement_item (movement, {', '.join(ITEM_COLUMNS)}) VALUES "  # noqa: S608 - constants only
        + ", ".join(row_marks for _ in rows)
    )
    await fetch(sql, *(value for row in rows for value in (movement_id, *row)))


async def items_of(movement_ids: list[int]) -> list[dict[str, Any]]:
    """The lines of the given movements, in line order."""
    wanted = sorted(set(movement_ids))
    if not wanted:
        return []
    marks = ", ".join("{}" for _ in wanted)
    return await fetch(
        f"SELECT movement, {', '.join(ITEM_COLUMNS)} FROM movement_item"  # noqa: S608 - constants and marks only
        f" WHERE movement IN ({marks}) ORDER BY movement, line_no",
        *wanted,
    )


async def account_mismatches() -> list[dict[str, Any]]:
    """Accounts whose used amounts differ from the sum of their movements (or movements with no account)."""
    return await fetch(
        "WITH moved AS (SELECT member, year, SUM(fund_fen) AS fund,"
        " SUM(CASE WHEN out_of_city THEN fund_fen ELSE 0 END) AS out_of_city FROM movement GROUP BY member, year)"
        " SELECT COALESCE(a.member, m.member) AS member, COALESCE(a.year, m.year) AS year,"
        " COALESCE(a.used_fen, 0) AS used_fen, COALESCE(m.fund, 0) AS moved_fen,"
        " COALESCE(a.used_out_of_city_fen, 0) AS used_out_of_city_fen,"
        " COALESCE(m.out_of_city, 0) AS moved_out_of_city_fen"
        " FROM benefit_account a FULL OUTER JOIN moved m ON m.member = a.member AND m.year = a.year"
        " WHERE COALESCE(a.used_fen, 0) <> COALESCE(m.fund, 0)"
        " OR COALESCE(a.used_out_of_city_fen, 0) <> COALESCE(m.out_of_city, 0)"
        " ORDER BY 1, 2"
    )


async def reversal_mismatches() -> list[dict[str, Any]]:
    """Reversals that do not exactly undo what they name (another member, year, or amount)."""
    return await fetch(
        "SELECT r.id, r.reverses FROM movement r LEFT JOIN movement o ON o.id = r.reverses"
        " WHERE r.kind = 'reversal' AND (o.id IS NULL OR o.kind = 'reversal' OR o.member <> r.member"
        " OR o.year <> r.year OR o.fund_fen <> -r.fund_fen OR o.member_fen <> -r.member_fen"
        " OR o.out_of_city <> r.out_of_city)"
        " ORDER BY r.id"
    )


async def ledger_counts() -> dict[str, Any]:
    row = await fetch_one(
        "SELECT (SELECT COUNT(*) FROM benefit_account) AS accounts, (SELECT COUNT(*) FROM movement) AS movements"
    )
    assert row is not None
    return row
