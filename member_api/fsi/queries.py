"""The facility interface's data access: credentials, sign-ins, visits and fee lines, as named functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from member_api.db import fetch, fetch_one


async def client_by_id(client_id: str) -> dict[str, Any] | None:
    return await fetch_one(
        "SELECT c.*, f.code AS facility_code, f.name AS facility_name FROM fsi_client c"
        " JOIN facility f ON f.id = c.facility WHERE c.client_id = {}",
        client_id,
    )


async def insert_client(values: dict[str, Any]) -> dict[str, Any]:
    row = await fetch_one(
        "INSERT INTO fsi_client (client_id, secret_hash, facility, staff_id, label, sm2_public_key, created_at,"
        " revoked_at) VALUES ({}, {}, {}, {}, {}, {}, {}, NULL) RETURNING *",
        values["client_id"],
        values["secret_hash"],
        values["facility"],
        values["staff_id"],
        values["label"],
        values["sm2_public_key"],
        values["created_at"],
    )
    assert row is not None
    return row


async def revoke_client(client_id: str, now: datetime) -> dict[str, Any] | None:
    return await fetch_one(
        "UPDATE fsi_client SET revoked_at = {} WHERE client_id = {} AND revoked_at IS NULL RETURNING *",
        now,
        client_id,
    )


async def end_sessions_of_client(client: int, now: datetime) -> None:
    await fetch("UPDATE fsi_session SET signed_out_at = {} WHERE client = {} AND signed_out_at IS NULL", now, client)


async def clients() -> list[dict[str, Any]]:
    return await fetch(
        "SELECT c.client_id, c.label, c.created_at, c.revoked_at, f.code AS facility_code, f.name AS facility_name"
        " FROM fsi_client c JOIN facility f ON f.id = c.facility ORDER BY c.id"
    )


async def insert_session(values: dict[str, Any]) -> None:
    await fetch(
        "INSERT INTO fsi_session (sign_no, client, opter, opter_name, opter_type, signed_in_at, expires_at,"
        " signed_out_at) VALUES ({}, {}, {}, {}, {}, {}, {}, NULL)",
        values["sign_no"],
        values["client"],
        values["opter"],
        values["opter_name"],
        values["opter_type"],
        values["signed_in_at"],
        values["expires_at"],
    )


async def session(sign_no: str) -> dict[str, Any] | None:
    return await fetch_one("SELECT * FROM fsi_session WHERE sign_no = {}", sign_no)


async def sign_out(sign_no: str, now: datetime) -> bool:
    rows = await fetch(
        "UPDATE fsi_session SET signed_out_at = {} WHERE sign_no = {} AND signed_out_at IS NULL RETURNING id",
        now,
        sign_no,
    )
    return bool(rows)


async def insert_visit(values: dict[str, Any]) -> dict[str, Any]:
    columns = list(values)
    row = await fetch_one(
        f"INSERT INTO fsi_visit ({', '.join(columns)}) VALUES ({', '.join('{}' for _ in columns)})"  # noqa: S608
        " RETURNING *",
        *values.values(),
    )
    assert row is not None
    return row


async def visit(mdtrt_id: str, facility_id: int) -> dict[str, Any] | None:
    return await fetch_one("SELECT * FROM fsi_visit WHERE mdtrt_id = {} AND facility = {}", mdtrt_id, facility_id)


async def visit_of_settlement(settlement_id: int) -> dict[str, Any] | None:
    return await fetch_one(
        "SELECT v.* FROM fsi_visit v JOIN fsi_visit_settlement s ON s.visit = v.id WHERE s.settlement_id = {}",
        settlement_id,
    )


async def link_settlement(visit_id: int, settlement_id: int, now: datetime) -> None:
    await fetch(
        "INSERT INTO fsi_visit_settlement (visit, settlement_id, created_at) VALUES ({}, {}, {})",
        visit_id,
        settlement_id,
        now,
    )


async def visits_of_settlements(ids: list[int]) -> dict[int, str]:
    """{settlement id: mdtrt_id} for the settlements a visit of the interface holds."""
    if not ids:
        return {}
    marks = ", ".join("{}" for _ in ids)
    head = "SELECT s.settlement_id, v.mdtrt_id FROM fsi_visit_settlement s JOIN fsi_visit v ON v.id = s.visit"
    sql = f"{head} WHERE s.settlement_id IN ({marks})"
    rows = await fetch(sql, *ids)
    return {r["settlement_id"]: r["mdtrt_id"] for r in rows}


async def set_visit_state(visit_id: int, status: str, settlement_id: int | None, now: datetime | None) -> None:
    await fetch(
        "UPDATE fsi_visit SET status = {}, settlement_id = {}, cancelled_at = COALESCE({}, cancelled_at) WHERE id = {}",
        status,
        settlement_id,
        now,
        visit_id,
    )


async def lock_visit(visit_id: int) -> dict[str, Any] | None:
    """The visit row, locked for the rest of the transaction on PostgreSQL (SQLite's write lock is held already)."""
    return await fetch_one("UPDATE fsi_visit SET status = status WHERE id = {} RETURNING *", visit_id)


async def active_lines(visit_id: int) -> list[dict[str, Any]]:
    return await fetch("SELECT * FROM fsi_fee_line WHERE visit = {} AND withdrawn_at IS NULL ORDER BY id", visit_id)


async def insert_line(values: dict[str, Any]) -> None:
    columns = list(values)
    await fetch(
        f"INSERT INTO fsi_fee_line ({', '.join(columns)}) VALUES ({', '.join('{}' for _ in columns)})",  # noqa: S608
        *values.values(),
    )


async def withdraw_lines(visit_id: int, chrg_bchno: str | None, now: datetime) -> int:
    """Withdraw the visit's active lines (of one charge batch, or all when ``chrg_bchno`` is None)."""
    if chrg_bchno is None:
        rows = await fetch(
            "UPDATE fsi_fee_line SET withdrawn_at = {} WHERE visit = {} AND withdrawn_at IS NULL RETURNING id",
            now,
            visit_id,
        )
    else:
        rows = await fetch(
            "UPDATE fsi_fee_line SET withdrawn_at = {} WHERE visit = {} AND chrg_bchno = {}"
            " AND withdrawn_at IS NULL RETURNING id",
            now,
            visit_id,
            chrg_bchno,
        )
    return len(rows)


async def facility_id_by_code(code: str) -> int:
    row = await fetch_one("SELECT id FROM facility WHERE code = {}", code)
    assert row is not None  # create_staff checked it in the same transaction
    return int(row["id"])
