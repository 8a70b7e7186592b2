"""The agency's hand-written SQL: every aggregate over members and fund movements is computed by the database.

Fund movements (the ``settlement`` table) are read here and never written: the ledger is their one writer.
A facility's figures roll up to its *unit*: a village station counts for the institution that runs it
(``COALESCE(parent, id)``), an institution or a hospital for itself. Statements are built from constant
fragments only (hence the ``noqa: S608``); values are always parameters.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from member_api import db
from member_api.db import execute_many, fetch, fetch_one
from member_api.facilities.queries import IN_FORCE_ON
from member_api.policy.designation import PRIMARY_KINDS

UNIT = "COALESCE(f.parent, f.id)"
_PRIMARY = ", ".join(f"'{k}'" for k in sorted(PRIMARY_KINDS))
# A visit counts once; its reversal takes it back (R14/R15 visit counts).
VISIT_SIGN = "CASE WHEN s.kind = 'reversal' THEN -1 ELSE 1 END"


def _sqlite() -> bool:
    return db.is_sqlite(db.current_engine())


async def lock_table(table: str) -> None:
    """Serialise writers of the agency's books on PostgreSQL (self-conflicting lock, held to the end of the
    transaction); SQLite's IMMEDIATE transaction already holds the database's write lock."""
    if not _sqlite():
        await fetch(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


async def settlement_watermark() -> int:
    """The highest fund-movement id such that every movement up to it is committed and none will appear later.

    On PostgreSQL a SHARE lock waits for every open transaction that inserted a movement and is released at
    once (a short transaction of its own), so counter settlements pause for a moment, not for the close.
    On SQLite writers are serial: a movement not yet committed gets an id above the maximum seen.
    """
    if _sqlite():
        row = await fetch_one("SELECT COALESCE(MAX(id), 0) AS watermark FROM movement")
    else:
        async with db.write_transaction():
            await fetch("LOCK TABLE movement IN SHARE MODE")
            row = await fetch_one("SELECT COALESCE(MAX(id), 0) AS watermark FROM movement")
    assert row is not None
    return int(row["watermark"])


async def claim_watermark() -> int:
    row = await fetch_one("SELECT COALESCE(MAX(id), 0) AS watermark FROM claim")
    assert row is not None
    return int(row["watermark"])


# --- facilities -------------------------------------------------------------------------------------------


async def institutions() -> list[dict[str, Any]]:
    """The primary institutions paid by capitation (R13): in the city, not a station."""
    return await fetch(
        "SELECT id, code, name, kind, division FROM facility"  # noqa: S608
        f" WHERE parent IS NULL AND in_city AND kind IN ({_PRIMARY}) ORDER BY code"
    )


async def units() -> list[dict[str, Any]]:
    """Every reporting unit (R14, R16): facilities that are not a station, hospitals included."""
    return await fetch("SELECT id, code, name, kind, tier, division FROM facility WHERE parent IS NULL ORDER BY code")


async def unit_of(facility_id: int) -> int | None:
    row = await fetch_one("SELECT COALESCE(parent, id) AS unit FROM facility WHERE id = {}", facility_id)
    return int(row["unit"]) if row else None


async def unit_facilities(unit_id: int) -> list[dict[str, Any]]:
    """The unit and its stations, the unit first."""
    return await fetch(
        "SELECT id, code, name, kind, tier FROM facility WHERE id = {} OR parent = {}"
        " ORDER BY (parent IS NOT NULL), code",
        unit_id,
        unit_id,
    )


# --- R13 headcount and actual fund payments ---------------------------------------------------------------


async def headcounts(days: list[date]) -> dict[int, list[int]]:
    """{institution: [signed-up headcount as of each day]} in one pass over the designation history (R13.1).

    A designation already names the institution when the member chose one of its village stations, so station
    sign-ups count for the institution that runs the station.
    """
    if not days:
        return {}
    columns = ", ".join(f"COUNT(DISTINCT CASE WHEN {IN_FORCE_ON} THEN member END) AS h{n}" for n in range(len(days)))
    years = sorted({d.year for d in days})
    marks = ", ".join("{}" for _ in years)
    args: list[object] = [v for d in days for v in (d.year, d, d)] + list(years)
    rows = await fetch(
        f"SELECT institution, {columns} FROM designation WHERE year IN ({marks}) GROUP BY institution",  # noqa: S608
        *args,
    )
    return {r["institution"]: [int(r[f"h{n}"]) for n in range(len(days))] for r in rows}


async def actual_by_unit(start: date, end: date, watermark: int) -> dict[int, int]:
    """R13.3: fund payments of visits in [start, end) per unit, movements up to the watermark (reversals net)."""
    rows = await fetch(
        f"SELECT {UNIT} AS unit, SUM(s.fund_fen) AS fund FROM movement s JOIN facility f ON f.id = s.facility"  # noqa: S608
        f" WHERE s.visit_date >= {{}} AND s.visit_date < {{}} AND s.id <= {{}} GROUP BY {UNIT}",
        start,
        end,
        watermark,
    )
    return {r["unit"]: int(r["fund"]) for r in rows}


async def late_movements(after_id: int, upto_id: int, before: date) -> list[dict[str, Any]]:
    """Movements recorded since the previous close that reach a month already cleared: per unit and visit day."""
    return await fetch(
        f"SELECT {UNIT} AS unit, s.visit_date AS day, COUNT(*) AS movements, SUM(s.fund_fen) AS fund"  # noqa: S608
        " FROM movement s JOIN facility f ON f.id = s.facility"
        f" WHERE s.id > {{}} AND s.id <= {{}} AND s.visit_date < {{}} GROUP BY {UNIT}, s.visit_date",
        after_id,
        upto_id,
        before,
    )


async def late_movement_lines(unit_id: int, after_id: int, upto_id: int, before: date) -> list[dict[str, Any]]:
    """The movements behind one statement's adjustment lines (no personal data: ids, dates, amounts)."""
    return await fetch(
        "SELECT s.id, s.kind, s.facility, s.visit_date, s.fund_fen, s.reverses, s.created_at"  # noqa: S608
        f" FROM movement s JOIN facility f ON f.id = s.facility WHERE {UNIT} = {{}}"
        " AND s.id > {} AND s.id <= {} AND s.visit_date < {} ORDER BY s.id",
        unit_id,
        after_id,
        upto_id,
        before,
    )


async def year_actual_by_unit(year: int, watermark: int) -> dict[int, int]:
    rows = await fetch(
        f"SELECT {UNIT} AS unit, SUM(s.fund_fen) AS fund FROM movement s JOIN facility f ON f.id = s.facility"  # noqa: S608
        f" WHERE s.year = {{}} AND s.id <= {{}} GROUP BY {UNIT}",
        year,
        watermark,
    )
    return {r["unit"]: int(r["fund"]) for r in rows}


# --- R13 books --------------------------------------------------------------------------------------------


async def close_row(year: int, month: int) -> dict[str, Any] | None:
    return await fetch_one("SELECT * FROM capitation_close WHERE year = {} AND month = {}", year, month)


async def latest_close() -> dict[str, Any] | None:
    return await fetch_one("SELECT * FROM capitation_close ORDER BY year DESC, month DESC LIMIT 1")


async def closes() -> list[dict[str, Any]]:
    return await fetch("SELECT * FROM capitation_close ORDER BY year, month")


async def insert_close(
    year: int, month: int, watermark: int, previous: int | None, at: datetime, actor: str
) -> dict[str, Any]:
    row = await fetch_one(
        "INSERT INTO capitation_close (year, month, watermark, previous_watermark, closed_at, closed_by)"
        " VALUES ({}, {}, {}, {}, {}, {}) RETURNING *",
        year,
        month,
        watermark,
        previous,
        at,
        actor,
    )
    assert row is not None
    return row


STATEMENT_COLUMNS = (
    "close",
    "year",
    "month",
    "institution",
    "headcount",
    "prepayment_headcount",
    "prepayment_fen",
    "quality_guarantee_fen",
    "adjustment_fund_fen",
    "cleared_year",
    "cleared_month",
    "cleared_prepayment_fen",
    "cleared_actual_fen",
    "cleared_fen",
    "withheld_fen",
    "clearing_balance_fen",
    "adjustment_actual_fen",
    "adjustment_cleared_fen",
    "adjustment_withheld_fen",
    "adjustment_fen",
    "payable_fen",
)
ADJUSTMENT_COLUMNS = (
    "statement",
    "institution",
    "touched_year",
    "touched_month",
    "movements",
    "actual_fen",
    "cleared_fen",
    "withheld_fen",
    "paid_fen",
    "cleared_here",
)


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('{}' for _ in columns)})"  # noqa: S608


async def insert_statements(rows: list[dict[str, Any]]) -> None:
    await execute_many(
        _insert("capitation_statement", STATEMENT_COLUMNS), [tuple(r[c] for c in STATEMENT_COLUMNS) for r in rows]
    )


async def insert_adjustments(rows: list[dict[str, Any]]) -> None:
    await execute_many(
        _insert("capitation_adjustment", ADJUSTMENT_COLUMNS), [tuple(r[c] for c in ADJUSTMENT_COLUMNS) for r in rows]
    )


async def statements(close_id: int) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT st.*, f.code AS institution_code, f.name AS institution_name FROM capitation_statement st"
        " JOIN facility f ON f.id = st.institution WHERE st.close = {} ORDER BY f.code",
        close_id,
    )


async def statement_ids(close_id: int) -> dict[int, int]:
    rows = await fetch("SELECT id, institution FROM capitation_statement WHERE close = {}", close_id)
    return {r["institution"]: r["id"] for r in rows}


async def statements_of_month(year: int, month: int) -> dict[int, dict[str, Any]]:
    rows = await fetch("SELECT * FROM capitation_statement WHERE year = {} AND month = {}", year, month)
    return {r["institution"]: r for r in rows}


async def adjustments(close_id: int) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT a.* FROM capitation_adjustment a JOIN capitation_statement st ON st.id = a.statement"
        " WHERE st.close = {} ORDER BY a.institution, a.touched_year, a.touched_month",
        close_id,
    )


async def cleared_months() -> dict[tuple[int, int, int], dict[str, Any]]:
    """{(institution, year, month): the clearing of that month and every re-clearing since}."""
    cleared = await fetch(
        "SELECT institution, cleared_year, cleared_month, cleared_prepayment_fen, cleared_actual_fen"
        " FROM capitation_statement"
    )
    later = await fetch(
        "SELECT institution, touched_year, touched_month, SUM(actual_fen) AS actual FROM capitation_adjustment"
        " GROUP BY institution, touched_year, touched_month"
    )
    found = {
        (r["institution"], r["cleared_year"], r["cleared_month"]): {
            "prepayment_fen": r["cleared_prepayment_fen"],
            "actual_fen": r["cleared_actual_fen"],
        }
        for r in cleared
    }
    for r in later:
        entry = found.get((r["institution"], r["touched_year"], r["touched_month"]))
        if entry is not None:
            entry["actual_fen"] += int(r["actual"])
    return found


async def year_totals(year: int) -> dict[int, dict[str, int]]:
    """Per institution: prepayments of the year's months, and clearings of them (re-clearings included)."""
    rows = await fetch(
        "SELECT institution,"
        " SUM(CASE WHEN year = {} THEN prepayment_fen ELSE 0 END) AS prepaid,"
        " SUM(CASE WHEN cleared_year = {} THEN cleared_fen ELSE 0 END) AS cleared,"
        " SUM(CASE WHEN cleared_year = {} THEN withheld_fen ELSE 0 END) AS withheld,"
        " SUM(CASE WHEN cleared_year = {} THEN 1 ELSE 0 END) AS months"
        " FROM capitation_statement WHERE year = {} OR cleared_year = {} GROUP BY institution",
        year,
        year,
        year,
        year,
        year,
        year,
    )
    adjusted = await fetch(
        "SELECT institution, SUM(cleared_fen) AS cleared, SUM(withheld_fen) AS withheld"
        " FROM capitation_adjustment WHERE touched_year = {} GROUP BY institution",
        year,
    )
    totals = {
        r["institution"]: {
            "prepaid": int(r["prepaid"]),
            "cleared": int(r["cleared"]),
            "withheld": int(r["withheld"]),
            "months": int(r["months"]),
        }
        for r in rows
    }
    for r in adjusted:
        entry = totals.setdefault(r["institution"], {"prepaid": 0, "cleared": 0, "withheld": 0, "months": 0})
        entry["cleared"] += int(r["cleared"])
        entry["withheld"] += int(r["withheld"])
    return totals


async def year_end_row(year: int) -> dict[str, Any] | None:
    return await fetch_one("SELECT * FROM capitation_year_end WHERE year = {}", year)


async def insert_year_end(year: int, watermark: int, at: datetime, actor: str) -> dict[str, Any]:
    row = await fetch_one(
        "INSERT INTO capitation_year_end (year, watermark, settled_at, settled_by) VALUES ({}, {}, {}, {}) RETURNING *",
        year,
        watermark,
        at,
        actor,
    )
    assert row is not None
    return row


YEAR_COLUMNS = (
    "year_end",
    "year",
    "institution",
    "headcount",
    "months_cleared",
    "prepaid_fen",
    "package_fen",
    "actual_fen",
    "threshold_reached",
    "due_fen",
    "reward_fen",
    "returned_to_fund_fen",
    "uncompensated_overspend_fen",
    "cleared_fen",
    "withheld_fen",
    "guarantee_release_bp",
    "guarantee_released_fen",
    "guarantee_forfeited_fen",
    "balance_fen",
    "assessment_score",
    "assessment_grade",
    "fund_accrued_fen",
    "fund_allocated_fen",
    "fund_settled_fen",
)


async def insert_year_statements(rows: list[dict[str, Any]]) -> None:
    await execute_many(
        _insert("capitation_year_statement", YEAR_COLUMNS), [tuple(r[c] for c in YEAR_COLUMNS) for r in rows]
    )


async def year_statements(year_end_id: int) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT ys.*, f.code AS institution_code, f.name AS institution_name FROM capitation_year_statement ys"
        " JOIN facility f ON f.id = ys.institution WHERE ys.year_end = {} ORDER BY f.code",
        year_end_id,
    )


async def settled_years() -> list[int]:
    return [int(r["year"]) for r in await fetch("SELECT year FROM capitation_year_end ORDER BY year")]


# --- R14 facility monthly report ---------------------------------------------------------------------------

_FIGURES = (
    f"SUM({VISIT_SIGN}) AS visits, SUM(s.general_fee_fen) AS general_fee_fen, SUM(s.compliant_fen) AS compliant_fen,"
    " SUM(s.non_compliant_fen) AS non_compliant_fen, SUM(s.fund_fen) AS fund_fen, SUM(s.member_fen) AS member_fen"
)


async def report_by_facility(unit_id: int | None, start: date, end: date) -> list[dict[str, Any]]:
    """R14: settled visits of [start, end) per facility (a unit and its stations), reversals netted."""
    where = f" AND {UNIT} = {{}}" if unit_id is not None else ""
    args: list[object] = [start, end] + ([unit_id] if unit_id is not None else [])
    return await fetch(
        f"SELECT s.facility, {UNIT} AS unit, {_FIGURES} FROM movement s JOIN facility f ON f.id = s.facility"  # noqa: S608
        f" WHERE s.visit_date >= {{}} AND s.visit_date < {{}}{where} GROUP BY s.facility, {UNIT}",
        *args,
    )


async def confirmation(year: int, month: int, unit_id: int) -> dict[str, Any] | None:
    return await fetch_one(
        "SELECT * FROM report_confirmation WHERE year = {} AND month = {} AND institution = {}", year, month, unit_id
    )


async def confirmations(year: int, month: int) -> dict[int, dict[str, Any]]:
    rows = await fetch("SELECT * FROM report_confirmation WHERE year = {} AND month = {}", year, month)
    return {r["institution"]: r for r in rows}


async def insert_confirmation(values: dict[str, Any]) -> dict[str, Any] | None:
    """One confirmation per unit and month, decided by the unique index in one statement."""
    columns = tuple(values)
    return await fetch_one(
        f"INSERT INTO report_confirmation ({', '.join(columns)}) VALUES ({', '.join('{}' for _ in columns)})"  # noqa: S608
        " ON CONFLICT (year, month, institution) DO NOTHING RETURNING *",
        *values.values(),
    )


# --- R15 assessment ----------------------------------------------------------------------------------------


async def year_figures(year: int) -> dict[int, dict[str, int]]:
    rows = await fetch(
        f"SELECT {UNIT} AS unit, {_FIGURES} FROM movement s JOIN facility f ON f.id = s.facility"  # noqa: S608
        f" WHERE s.year = {{}} GROUP BY {UNIT}",
        year,
    )
    return {r["unit"]: {k: int(v or 0) for k, v in r.items() if k != "unit"} for r in rows}


async def referrals_by_unit(start: date, end: date) -> dict[int, int]:
    """R15: referrals approved by a unit (or one of its stations) with a validity starting in [start, end)."""
    rows = await fetch(
        f"SELECT {UNIT} AS unit, COUNT(*) AS referrals FROM referral r JOIN facility f ON f.id = r.from_facility"  # noqa: S608
        f" WHERE r.valid_from >= {{}} AND r.valid_from < {{}} GROUP BY {UNIT}",
        start,
        end,
    )
    return {r["unit"]: int(r["referrals"]) for r in rows}


# --- R16 abuse signals -------------------------------------------------------------------------------------
# Each signal is one documented query over one month's movements [start, end), optionally one unit's.
# A settlement that was later reversed (by the counter or by a confirmed dispute, P2) stays in the visit
# patterns it was part of: a split visit taken back is still a split visit; the signal says how many were.

_REVERSED = "EXISTS (SELECT 1 FROM movement x WHERE x.reverses = s.id)"


def _unit_filter(unit_id: int | None, args: list[object], column: str = UNIT) -> str:
    if unit_id is None:
        return ""
    args.append(unit_id)
    return f" AND {column} = {{}}"


def _plus_days(column: str, days: int) -> str:
    """``column + days`` as a date on either engine (``days`` is a policy integer, never caller input)."""
    days = int(days)
    return f"date({column}, '+{days} days')" if _sqlite() else f"({column} + {days})"


async def same_day_repeats(start: date, end: date, unit_id: int | None, min_visits: int) -> list[dict[str, Any]]:
    """Several counter settlements of one member at one facility on one day (R16 'repeated charges')."""
    args: list[object] = [start, end]
    where = _unit_filter(unit_id, args)
    args.append(min_visits)
    return await fetch(
        f"SELECT s.member, s.facility, {UNIT} AS unit, s.visit_date AS day, COUNT(*) AS n, SUM(s.fund_fen) AS fund"  # noqa: S608
        " FROM movement s JOIN facility f ON f.id = s.facility"
        f" WHERE s.kind = 'counter' AND s.visit_date >= {{}} AND s.visit_date < {{}}{where}"
        f" GROUP BY s.member, s.facility, {UNIT}, s.visit_date HAVING COUNT(*) >= {{}}",
        *args,
    )


async def split_visits(
    start: date, end: date, unit_id: int | None, min_visits: int, window_days: int, max_bill_fen: int
) -> list[dict[str, Any]]:
    """R16 'split visits' (分解就诊): at least ``min_visits`` counter settlements of one member at one facility
    within ``window_days`` days, each bill under ``max_bill_fen``. One row per member and facility in the month:
    the first day a window starts and the most visits in one window."""
    args: list[object] = [start, end, max_bill_fen]
    where = _unit_filter(unit_id, args)
    args.append(min_visits)
    return await fetch(
        "WITH small AS ("  # noqa: S608
        f" SELECT s.id, s.member, s.facility, {UNIT} AS unit, s.visit_date, s.fund_fen"
        " FROM movement s JOIN facility f ON f.id = s.facility"
        " WHERE s.kind = 'counter' AND s.visit_date >= {} AND s.visit_date < {}"
        f" AND s.general_fee_fen + s.compliant_fen + s.non_compliant_fen < {{}}{where}"
        "), windows AS ("
        " SELECT a.member, a.facility, a.unit, a.visit_date AS day, COUNT(*) AS n, SUM(b.fund_fen) AS fund"
        " FROM small a JOIN small b ON b.member = a.member AND b.facility = a.facility"
        f" AND b.visit_date >= a.visit_date AND b.visit_date <= {_plus_days('a.visit_date', window_days - 1)}"
        " GROUP BY a.id, a.member, a.facility, a.unit, a.visit_date HAVING COUNT(*) >= {}"
        ") SELECT member, facility, unit, MIN(day) AS day, MAX(n) AS n, MAX(fund) AS fund FROM windows"
        " GROUP BY member, facility, unit",
        *args,
    )


async def duplicate_receipts(start: datetime, end: datetime, unit_id: int | None) -> list[dict[str, Any]]:
    """R16 'forged records': one receipt file (same SHA-256) attached to two or more claims, one of them
    uploaded in [start, end). Reported against the unit where the month's upload was lodged."""
    args: list[object] = [start, end]
    where = _unit_filter(unit_id, args)
    return await fetch(
        "WITH month AS ("  # noqa: S608
        f" SELECT r.sha256, MIN({UNIT}) AS unit, MIN(r.created_at) AS uploaded_at FROM receipt r"
        " JOIN claim c ON c.id = r.claim"
        " JOIN facility f ON f.id = c.lodged_with"
        f" WHERE r.created_at >= {{}} AND r.created_at < {{}}{where} GROUP BY r.sha256"
        ") SELECT m.sha256, m.unit, m.uploaded_at, COUNT(DISTINCT r.claim) AS n, MIN(r.claim) AS first_claim,"
        " MAX(r.claim) AS last_claim FROM month m JOIN receipt r ON r.sha256 = m.sha256"
        " GROUP BY m.sha256, m.unit, m.uploaded_at HAVING COUNT(DISTINCT r.claim) >= 2",
        *args,
    )


async def month_unit_figures(start: date, end: date) -> dict[int, dict[str, int]]:
    rows = await fetch(
        f"SELECT {UNIT} AS unit, {_FIGURES} FROM movement s JOIN facility f ON f.id = s.facility"  # noqa: S608
        f" WHERE s.visit_date >= {{}} AND s.visit_date < {{}} GROUP BY {UNIT}",
        start,
        end,
    )
    return {r["unit"]: {k: int(v or 0) for k, v in r.items() if k != "unit"} for r in rows}


async def many_facilities(start: date, end: date, unit_id: int | None, min_facilities: int) -> list[dict[str, Any]]:
    """R16: members settled at ``min_facilities`` or more facilities in the month (a unit's filter keeps the
    members who settled there at least once)."""
    args: list[object] = [start, end]
    where = ""
    if unit_id is not None:
        where = (
            " AND s.member IN (SELECT y.member FROM movement y JOIN facility g ON g.id = y.facility"
            " WHERE y.visit_date >= {} AND y.visit_date < {} AND COALESCE(g.parent, g.id) = {})"
        )
        args += [start, end, unit_id]
    args.append(min_facilities)
    return await fetch(
        "SELECT s.member, COUNT(DISTINCT s.facility) AS n, SUM(s.fund_fen) AS fund FROM movement s"  # noqa: S608
        f" WHERE s.kind <> 'reversal' AND s.visit_date >= {{}} AND s.visit_date < {{}}{where}"
        " GROUP BY s.member HAVING COUNT(DISTINCT s.facility) >= {}",
        *args,
    )


async def pattern_settlements(start: date, end: date, members: list[int]) -> list[dict[str, Any]]:
    """The month's settlements (not reversals) of the signalled members, with whether each was reversed since:
    the signals link to them and say how many were taken back."""
    found: list[dict[str, Any]] = []
    for n in range(0, len(members), 500):
        chunk = members[n : n + 500]
        marks = ", ".join("{}" for _ in chunk)
        found += await fetch(
            f"SELECT s.id, s.member, s.facility, {UNIT} AS unit, s.kind, s.visit_date, s.fund_fen,"  # noqa: S608
            " s.general_fee_fen + s.compliant_fen + s.non_compliant_fen AS bill_fen,"
            f" CASE WHEN {_REVERSED} THEN 1 ELSE 0 END AS reversed"
            " FROM movement s JOIN facility f ON f.id = s.facility"
            f" WHERE s.kind <> 'reversal' AND s.visit_date >= {{}} AND s.visit_date < {{}} AND s.member IN ({marks})"
            " ORDER BY s.visit_date, s.id",
            start,
            end,
            *chunk,
        )
    return found


async def claims_of(ids: list[int]) -> dict[int, dict[str, Any]]:
    """{claim: member, when submitted, the bill claimed} for the claims a duplicate receipt links to."""
    if not ids:
        return {}
    marks = ", ".join("{}" for _ in ids)
    rows = await fetch(
        "SELECT c.id, c.member, c.submitted_at, COALESCE(SUM(i.general_fee_fen + i.compliant_fen"  # noqa: S608
        " + i.non_compliant_fen), 0) AS bill_fen FROM claim c LEFT JOIN claim_item i ON i.claim = c.id"
        f" WHERE c.id IN ({marks}) GROUP BY c.id, c.member, c.submitted_at",
        *ids,
    )
    return {r["id"]: r for r in rows}


async def receipt_claims(sha256s: list[str]) -> dict[str, list[int]]:
    if not sha256s:
        return {}
    marks = ", ".join("{}" for _ in sha256s)
    rows = await fetch(
        f"SELECT DISTINCT sha256, claim FROM receipt WHERE sha256 IN ({marks}) ORDER BY claim",  # noqa: S608
        *sha256s,
    )
    found: dict[str, list[int]] = {}
    for r in rows:
        found.setdefault(r["sha256"], []).append(int(r["claim"]))
    return found


async def confirmed_disputes(start: date, end: date, unit_id: int | None = None) -> list[dict[str, Any]]:
    """P2: confirmed disputes of settlements whose visit is in [start, end), with the disputed settlement's
    member, facility, unit, day and fund share (the dispute reversed it)."""
    args: list[object] = [start, end]
    where = _unit_filter(unit_id, args)
    return await fetch(
        f"SELECT d.id AS dispute, d.settlement_id, d.member, s.facility, {UNIT} AS unit, s.visit_date,"  # noqa: S608
        " s.fund_fen, d.decided_at FROM dispute d JOIN movement s ON s.id = d.settlement_id"
        " JOIN facility f ON f.id = s.facility"
        f" WHERE d.status = 'confirmed' AND s.visit_date >= {{}} AND s.visit_date < {{}}{where}"
        " ORDER BY s.visit_date, d.settlement_id",
        *args,
    )


async def settled_visits_by_unit(start: date, end: date) -> dict[int, int]:
    """Counter settlements made in [start, end) per unit, reversed ones included: the visits a unit settled,
    the base of its dispute rate (a confirmed dispute reverses its settlement, so net visits would hide it)."""
    rows = await fetch(
        f"SELECT {UNIT} AS unit, COUNT(*) AS n FROM movement s JOIN facility f ON f.id = s.facility"  # noqa: S608
        f" WHERE s.kind = 'counter' AND s.visit_date >= {{}} AND s.visit_date < {{}} GROUP BY {UNIT}",
        start,
        end,
    )
    return {r["unit"]: int(r["n"]) for r in rows}


async def facility_names(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    marks = ", ".join("{}" for _ in ids)
    rows = await fetch(f"SELECT id, name FROM facility WHERE id IN ({marks})", *ids)  # noqa: S608
    return {r["id"]: r["name"] for r in rows}


async def member_names(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    marks = ", ".join("{}" for _ in ids)
    rows = await fetch(f"SELECT id, name FROM member WHERE id IN ({marks})", *ids)  # noqa: S608
    return {r["id"]: r["name"] for r in rows}


async def signal_reviews(keys: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for n in range(0, len(keys), 500):
        chunk = keys[n : n + 500]
        marks = ", ".join("{}" for _ in chunk)
        rows = await fetch(f"SELECT * FROM signal_review WHERE signal_key IN ({marks})", *chunk)  # noqa: S608
        found.update({r["signal_key"]: r for r in rows})
    return found


async def insert_signal_review(values: dict[str, Any]) -> dict[str, Any] | None:
    columns = tuple(values)
    return await fetch_one(
        f"INSERT INTO signal_review ({', '.join(columns)}) VALUES ({', '.join('{}' for _ in columns)})"  # noqa: S608
        " ON CONFLICT (signal_key) DO NOTHING RETURNING *",
        *values.values(),
    )


# --- review samples ----------------------------------------------------------------------------------------
# The draw orders each unit's items by a keyed permutation of their ids (two rounds of a multiplicative
# hash modulo the prime 2^31-1, all in 64-bit integers on both engines) and takes the first n of each unit:
# the same seed over the same items always draws the same ones.

_P = 2_147_483_647


def _shuffled(column: str, seed: int) -> str:
    seed = int(seed)
    first = f"((CAST({column} AS BIGINT) * 1103515245 + {seed}) % {_P})"
    return f"(({first} * 48271 + {seed % 65521}) % {_P})"


def _size(share_bp: int, minimum: int) -> str:
    """The SQL twin of ``policy.capitation.sample_size`` over a window count ``n``."""
    share = f"((n * {int(share_bp)} + 9999) / 10000)"
    return f"CASE WHEN {share} < {int(minimum)} THEN {int(minimum)} ELSE {share} END"


async def draw_settlements(
    start: date, end: date, watermark: int, seed: int, share_bp: int, minimum: int
) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT id, unit, n FROM ("  # noqa: S608
        f" SELECT s.id, {UNIT} AS unit, COUNT(*) OVER (PARTITION BY {UNIT}) AS n,"
        f" ROW_NUMBER() OVER (PARTITION BY {UNIT} ORDER BY {_shuffled('s.id', seed)}, s.id) AS rn"
        " FROM movement s JOIN facility f ON f.id = s.facility"
        " WHERE s.kind <> 'reversal' AND s.visit_date >= {} AND s.visit_date < {} AND s.id <= {}"
        f") t WHERE rn <= {_size(share_bp, minimum)} ORDER BY unit, id",
        start,
        end,
        watermark,
    )


async def draw_claims(
    start: datetime, end: datetime, watermark: int, seed: int, share_bp: int, minimum: int
) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT id, unit, n FROM ("  # noqa: S608
        f" SELECT c.id, {UNIT} AS unit, COUNT(*) OVER (PARTITION BY {UNIT}) AS n,"
        f" ROW_NUMBER() OVER (PARTITION BY {UNIT} ORDER BY {_shuffled('c.id', seed)}, c.id) AS rn"
        " FROM claim c JOIN facility f ON f.id = c.lodged_with"
        " WHERE c.submitted_at >= {} AND c.submitted_at < {} AND c.id <= {}"
        f") t WHERE rn <= {_size(share_bp, minimum)} ORDER BY unit, id",
        start,
        end,
        watermark,
    )


async def population(
    start: date, end: date, watermark: int, c_start: datetime, c_end: datetime, c_mark: int
) -> dict[int, list[int]]:
    """{unit: [settlements, claims]} the draw chooses from."""
    found: dict[int, list[int]] = {}
    for r in await fetch(
        f"SELECT {UNIT} AS unit, COUNT(*) AS n FROM movement s JOIN facility f ON f.id = s.facility"  # noqa: S608
        " WHERE s.kind <> 'reversal' AND s.visit_date >= {} AND s.visit_date < {} AND s.id <= {}"
        f" GROUP BY {UNIT}",
        start,
        end,
        watermark,
    ):
        found.setdefault(r["unit"], [0, 0])[0] = int(r["n"])
    for r in await fetch(
        f"SELECT {UNIT} AS unit, COUNT(*) AS n FROM claim c JOIN facility f ON f.id = c.lodged_with"  # noqa: S608
        f" WHERE c.submitted_at >= {{}} AND c.submitted_at < {{}} AND c.id <= {{}} GROUP BY {UNIT}",
        c_start,
        c_end,
        c_mark,
    ):
        found.setdefault(r["unit"], [0, 0])[1] = int(r["n"])
    return found


async def sample_row(year: int, month: int) -> dict[str, Any] | None:
    return await fetch_one("SELECT * FROM review_sample WHERE year = {} AND month = {}", year, month)


async def insert_sample(values: dict[str, Any]) -> dict[str, Any] | None:
    columns = tuple(values)
    return await fetch_one(
        f"INSERT INTO review_sample ({', '.join(columns)}) VALUES ({', '.join('{}' for _ in columns)})"  # noqa: S608
        " ON CONFLICT (year, month) DO NOTHING RETURNING *",
        *values.values(),
    )


async def insert_sample_items(rows: list[tuple[object, ...]]) -> None:
    await execute_many(
        "INSERT INTO review_sample_item (sample, institution, kind, object_id) VALUES ({}, {}, {}, {})", rows
    )


async def sample_items(sample_id: int) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT institution, kind, object_id FROM review_sample_item WHERE sample = {}"
        " ORDER BY institution, kind, object_id",
        sample_id,
    )


# --- adjustment fund (R13.2 interpretation) ------------------------------------------------------------------

FUND_COLUMNS = (
    "institution",
    "year",
    "month",
    "kind",
    "amount_fen",
    "balance_fen",
    "reason",
    "rule",
    "created_by",
    "created_at",
)


async def fund_accrue(close_id: int, reason: str, rule: str, actor: str, at: datetime) -> None:
    """Credit each institution's account of the close's year with the month's 15%, and record one accrual
    movement per institution with the balance it leaves (two statements, inside the close's transaction)."""
    await fetch(
        "INSERT INTO adjustment_fund_account (institution, year, balance_fen)"
        " SELECT institution, year, adjustment_fund_fen FROM capitation_statement"
        " WHERE close = {} AND adjustment_fund_fen > 0"
        " ON CONFLICT (institution, year) DO UPDATE SET balance_fen = adjustment_fund_account.balance_fen"
        " + excluded.balance_fen",
        close_id,
    )
    await fetch(
        f"INSERT INTO adjustment_fund_movement ({', '.join(FUND_COLUMNS)})"  # noqa: S608
        " SELECT st.institution, st.year, st.month, 'accrual', st.adjustment_fund_fen, a.balance_fen, {}, {}, {}, {}"
        " FROM capitation_statement st JOIN adjustment_fund_account a"
        " ON a.institution = st.institution AND a.year = st.year"
        " WHERE st.close = {} AND st.adjustment_fund_fen > 0",
        reason,
        rule,
        actor,
        at,
        close_id,
    )


async def lock_fund_account(institution: int, year: int) -> None:
    """Hold one account's row to the end of the transaction (PostgreSQL); SQLite's write transaction is serial."""
    if not _sqlite():
        await fetch(
            "SELECT id FROM adjustment_fund_account WHERE institution = {} AND year = {} FOR UPDATE", institution, year
        )


async def fund_debit(institution: int, year: int, amount: int) -> int | None:
    """Take ``amount`` from the account in one statement, only if the balance covers it: the balance after, or
    None when it does not (the CHECK constraint forbids a negative balance besides)."""
    row = await fetch_one(
        "UPDATE adjustment_fund_account SET balance_fen = balance_fen - {}"
        " WHERE institution = {} AND year = {} AND balance_fen >= {} RETURNING balance_fen",
        amount,
        institution,
        year,
        amount,
    )
    return int(row["balance_fen"]) if row else None


async def insert_fund_movement(values: dict[str, Any]) -> dict[str, Any]:
    row = await fetch_one(
        _insert("adjustment_fund_movement", FUND_COLUMNS) + " RETURNING *", *(values[c] for c in FUND_COLUMNS)
    )
    assert row is not None
    return row


async def fund_settle_year(year: int, reason: str, rule: str, actor: str, at: datetime) -> None:
    """Year end: every account of the year with a balance gets a closing movement to zero, then is zeroed."""
    await fetch(
        f"INSERT INTO adjustment_fund_movement ({', '.join(FUND_COLUMNS)})"  # noqa: S608
        " SELECT institution, year, 12, 'year_end', -balance_fen, 0, {}, {}, {}, {}"
        " FROM adjustment_fund_account WHERE year = {} AND balance_fen > 0",
        reason,
        rule,
        actor,
        at,
        year,
    )
    await fetch("UPDATE adjustment_fund_account SET balance_fen = 0 WHERE year = {}", year)


async def fund_movements(year: int, institution_id: int | None = None) -> list[dict[str, Any]]:
    where = " AND m.institution = {}" if institution_id is not None else ""
    args: list[object] = [year] + ([institution_id] if institution_id is not None else [])
    return await fetch(
        "SELECT m.*, f.code AS institution_code, f.name AS institution_name FROM adjustment_fund_movement m"  # noqa: S608
        f" JOIN facility f ON f.id = m.institution WHERE m.year = {{}}{where} ORDER BY f.code, m.id",
        *args,
    )


async def fund_totals(year: int) -> dict[int, dict[str, int]]:
    """{institution: {accrued, allocated, settled, balance}} of the year (allocated and settled as positives)."""
    rows = await fetch(
        "SELECT m.institution,"
        " SUM(CASE WHEN m.kind = 'accrual' THEN m.amount_fen ELSE 0 END) AS accrued,"
        " SUM(CASE WHEN m.kind = 'allocation' THEN -m.amount_fen ELSE 0 END) AS allocated,"
        " SUM(CASE WHEN m.kind = 'year_end' THEN -m.amount_fen ELSE 0 END) AS settled"
        " FROM adjustment_fund_movement m WHERE m.year = {} GROUP BY m.institution",
        year,
    )
    balances = {
        r["institution"]: int(r["balance_fen"])
        for r in await fetch("SELECT institution, balance_fen FROM adjustment_fund_account WHERE year = {}", year)
    }
    return {
        r["institution"]: {
            "accrued": int(r["accrued"] or 0),
            "allocated": int(r["allocated"] or 0),
            "settled": int(r["settled"] or 0),
            "balance": balances.get(r["institution"], 0),
        }
        for r in rows
    }


async def allocated_to_month(institution: int, year: int, month: int) -> int:
    row = await fetch_one(
        "SELECT COALESCE(SUM(-amount_fen), 0) AS allocated FROM adjustment_fund_movement"
        " WHERE institution = {} AND year = {} AND month = {} AND kind = 'allocation'",
        institution,
        year,
        month,
    )
    return int(row["allocated"]) if row else 0


async def cleared_month(institution: int, year: int, month: int) -> dict[str, int] | None:
    """One institution's month as cleared: its prepayment and its actual, re-clearings included; None when the
    month has not been cleared yet (the close of the following month clears it)."""
    row = await fetch_one(
        "SELECT cleared_prepayment_fen, cleared_actual_fen FROM capitation_statement"
        " WHERE institution = {} AND cleared_year = {} AND cleared_month = {}",
        institution,
        year,
        month,
    )
    if row is None:
        return None
    later = await fetch_one(
        "SELECT COALESCE(SUM(actual_fen), 0) AS actual FROM capitation_adjustment"
        " WHERE institution = {} AND touched_year = {} AND touched_month = {}",
        institution,
        year,
        month,
    )
    return {
        "prepayment_fen": int(row["cleared_prepayment_fen"]),
        "actual_fen": int(row["cleared_actual_fen"]) + int(later["actual"] if later else 0),
    }


async def institution(institution_id: int) -> dict[str, Any] | None:
    return await fetch_one("SELECT id, code, name, kind, parent FROM facility WHERE id = {}", institution_id)


# --- R13.4 quality assessment ----------------------------------------------------------------------------------


async def quality_assessments(year: int) -> dict[int, dict[str, Any]]:
    rows = await fetch("SELECT * FROM quality_assessment WHERE year = {}", year)
    return {r["institution"]: r for r in rows}


async def upsert_quality_assessment(values: dict[str, Any]) -> dict[str, Any]:
    """One assessment per institution and year; entering it again replaces it (before the year is settled)."""
    columns = tuple(values)
    row = await fetch_one(
        f"INSERT INTO quality_assessment ({', '.join(columns)}) VALUES ({', '.join('{}' for _ in columns)})"  # noqa: S608
        " ON CONFLICT (year, institution) DO UPDATE SET score = excluded.score, grade = excluded.grade,"
        " release_bp = excluded.release_bp, note = excluded.note, assessed_by = excluded.assessed_by,"
        " assessed_at = excluded.assessed_at RETURNING *",
        *values.values(),
    )
    assert row is not None
    return row


# --- R14 facility submissions and changes after a confirmation ---------------------------------------------------


async def insert_submission(values: dict[str, Any], lines: list[tuple[int, int, int, int, int]]) -> int:
    columns = tuple(values)
    row = await fetch_one(
        f"INSERT INTO facility_submission ({', '.join(columns)}) VALUES ({', '.join('{}' for _ in columns)})"  # noqa: S608
        " RETURNING id",
        *values.values(),
    )
    assert row is not None
    await execute_many(
        "INSERT INTO facility_submission_line (submission, facility, visits, bill_total_fen, fund_fen, member_fen)"
        " VALUES ({}, {}, {}, {}, {}, {})",
        [(row["id"], *line) for line in lines],
    )
    return int(row["id"])


async def latest_submission(year: int, month: int, unit_id: int) -> dict[str, Any] | None:
    return await fetch_one(
        "SELECT * FROM facility_submission WHERE year = {} AND month = {} AND institution = {}"
        " ORDER BY id DESC LIMIT 1",
        year,
        month,
        unit_id,
    )


async def submission_lines(submission_id: int) -> dict[int, dict[str, Any]]:
    rows = await fetch("SELECT * FROM facility_submission_line WHERE submission = {}", submission_id)
    return {r["facility"]: r for r in rows}


async def latest_submissions(year: int, month: int) -> dict[int, int]:
    """{unit: its latest submission id} of the month."""
    rows = await fetch(
        "SELECT institution, MAX(id) AS id FROM facility_submission WHERE year = {} AND month = {}"
        " GROUP BY institution",
        year,
        month,
    )
    return {r["institution"]: int(r["id"]) for r in rows}


async def movements_after(unit_id: int, start: date, end: date, after_id: int) -> list[dict[str, Any]]:
    """The unit's movements of visits in [start, end) recorded after ``after_id``: what changed a confirmed month."""
    return await fetch(
        "SELECT s.id, s.kind, s.facility, f.name AS facility_name, s.visit_date, s.fund_fen, s.reverses"  # noqa: S608
        f" FROM movement s JOIN facility f ON f.id = s.facility WHERE {UNIT} = {{}}"
        " AND s.visit_date >= {} AND s.visit_date < {} AND s.id > {} ORDER BY s.id",
        unit_id,
        start,
        end,
        after_id,
    )


async def changed_confirmations(year: int, month: int, start: date, end: date) -> set[int]:
    """Units whose confirmed month has movements recorded after the confirmation."""
    rows = await fetch(
        f"SELECT DISTINCT c.institution FROM report_confirmation c JOIN facility f ON {UNIT} = c.institution"  # noqa: S608
        " JOIN movement s ON s.facility = f.id"
        " WHERE c.year = {} AND c.month = {} AND c.settlement_watermark IS NOT NULL"
        " AND s.visit_date >= {} AND s.visit_date < {} AND s.id > c.settlement_watermark",
        year,
        month,
        start,
        end,
    )
    return {int(r["institution"]) for r in rows}


# ---- R16 item signals (R18 bill lines) --------------------------------------------------------------------------
_LINE = (
    "SELECT i.movement, i.line_no, i.code, i.name, i.category, i.count, i.amount_fen, s.member, s.facility,"
    " COALESCE(f.parent, f.id) AS unit, s.visit_date FROM movement_item i JOIN movement s ON s.id = i.movement"
    " JOIN facility f ON f.id = s.facility WHERE s.kind = 'counter' AND s.visit_date >= {} AND s.visit_date < {}"
)


async def repeated_item_lines(start: date, end: date, unit_id: int | None) -> list[dict[str, Any]]:
    """Lines whose code a member was billed more than once at one facility on one day (in one visit or in several)."""
    args: list[object] = [start, end]
    where = _unit_filter(unit_id, args)
    args += [start, end]
    return await fetch(
        f"{_LINE}{where} AND EXISTS (SELECT 1 FROM movement_item j JOIN movement t ON t.id = j.movement"  # noqa: S608
        " WHERE t.kind = 'counter' AND t.member = s.member AND t.facility = s.facility"
        " AND t.visit_date = s.visit_date AND j.code = i.code AND (j.movement <> i.movement OR j.line_no <> i.line_no)"
        " AND t.visit_date >= {} AND t.visit_date < {})"
        " ORDER BY s.member, s.facility, s.visit_date, i.code, i.movement, i.line_no",
        *args,
    )


async def high_count_lines(
    start: date, end: date, unit_id: int | None, high_bp: int, min_lines: int
) -> list[dict[str, Any]]:
    """Lines whose count is at least ``high_bp`` of their code's average count in the month (among ``min_lines``
    or more lines of the code), with that average."""
    args: list[object] = [start, end, min_lines, start, end]
    where = _unit_filter(unit_id, args)
    args.append(high_bp)
    return await fetch(
        "WITH usual AS (SELECT i.code, AVG(i.count) AS usual FROM movement_item i"  # noqa: S608
        " JOIN movement s ON s.id = i.movement WHERE s.kind = 'counter' AND s.visit_date >= {} AND s.visit_date < {}"
        " GROUP BY i.code HAVING COUNT(*) >= {})"
        f" SELECT x.*, u.usual FROM ({_LINE}{where}) x JOIN usual u ON u.code = x.code"
        " WHERE x.count * 10000 >= u.usual * {} ORDER BY x.movement, x.line_no",
        *args,
    )


async def billed_as_compliant_lines(start: date, end: date, unit_id: int | None) -> list[dict[str, Any]]:
    """Lines the facility sent as 01/02 that the catalogue made self-paid (their reasons say so)."""
    args: list[object] = [start, end]
    where = _unit_filter(unit_id, args)
    return await fetch(
        f"{_LINE}{where} AND CAST(i.reasons AS TEXT) LIKE '%billed_as_compliant%'"
        " ORDER BY s.facility, s.visit_date, i.movement, i.line_no",
        *args,
    )
