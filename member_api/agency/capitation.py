"""Capitation books (R13): monthly close, year-end settlement, statements (behind the area's ``service`` face).

The books of month M (closed once M has ended) hold, per primary institution: the headcount snapshot as of
M's last day; M's prepayment by the headcount of M-1 (当月预付); the clearing of M-1 by M-1's actual fund
payments, at most M-1's prepayment, 5% withheld (次月清算); and adjustment lines for movements recorded since
the previous close that reach a month already cleared, re-cleared here (a closed month never changes).

Which movements are in a close is fixed by a *watermark*: every fund movement with an id up to it, and none
after, so a close can be recomputed and audited. Closes run in calendar order, each once (a replay returns the
stored books). Every aggregate is one SQL statement over all members; Python only loops over institutions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from member_api.agency import fund, queries
from member_api.agency.periods import month_not_ended, policy_year
from member_api.agency.schemas import (
    AdjustmentLine,
    CapitationBooks,
    CloseView,
    InstitutionRef,
    MonthStatement,
    MonthStatements,
    MonthTotals,
    MovementLine,
    YearStatement,
    YearStatements,
)
from member_api.audit.service import record
from member_api.auth.service import actor_names
from member_api.core.clock import Clock, local_today
from member_api.core.errors import DomainError
from member_api.db import UniqueViolation, write_transaction
from member_api.policy import capitation, parameters
from member_api.policy.capitation import month_end, month_start, next_month_start, previous_month


def _not_closed(year: int, month: int) -> DomainError:
    return DomainError("month_not_closed", f"{year} 年 {month} 月尚未月结", f"{year}-{month:02d} has not been closed.")


def _period(year: int, month: int) -> str:
    return f"{year}-{month:02d}"


async def close_month(clock: Clock, actor: str, year: int, month: int) -> MonthStatements:
    """Close month ``year-month`` (R13.2-3) once; a second call returns the same statements."""
    params = policy_year(year)
    cleared_year = previous_month(year, month)[0]
    cleared_params = policy_year(cleared_year) if cleared_year != year else params
    if local_today(clock) <= month_end(year, month):
        raise month_not_ended(year, month)
    if await queries.close_row(year, month) is None:
        watermark = await queries.settlement_watermark()  # before the books' transaction: see the docstring
        try:
            await _close(clock, actor, year, month, params, cleared_params, watermark)
        except UniqueViolation:
            pass  # a concurrent close of the same month won: its books are the answer
    return await month_statements(year, month)


async def _close(
    clock: Clock,
    actor: str,
    year: int,
    month: int,
    params: parameters.PolicyYear,
    cleared_params: parameters.PolicyYear,
    watermark: int,
) -> None:
    """One month's books in one transaction: the named steps below, in this order."""
    async with write_transaction():
        await queries.lock_table("capitation_close")
        if await queries.close_row(year, month) is not None:
            return  # closed while this caller waited for the lock
        latest = await _latest_close_in_order(year, month)
        now = clock.now()
        close = await queries.insert_close(year, month, watermark, latest["watermark"] if latest else None, now, actor)
        figures = await _month_figures(year, month, latest, watermark)
        rows = [
            _statement_row(close["id"], year, month, inst["id"], figures, params, cleared_params)
            for inst in await queries.institutions()
        ]
        await queries.insert_statements(rows)
        await _record_adjustment_lines(close["id"], figures.adjustments)
        await fund.accrue(now, actor, close["id"])
        await record(
            now,
            actor,
            "capitation_close",
            "capitation_close",
            close["id"],
            {"period": _period(year, month), "watermark": watermark, "institutions": len(rows)},
        )


async def _latest_close_in_order(year: int, month: int) -> dict[str, Any] | None:
    """The previous close, which must be the month before this one (months close in calendar order)."""
    latest = await queries.latest_close()
    if latest is not None and (latest["year"], latest["month"]) != previous_month(year, month):
        following = next_month_start(latest["year"], latest["month"])
        raise DomainError(
            "month_out_of_order",
            f"月结须按月份顺序进行，下一个可月结的月份是 {following:%Y-%m}",
            f"Months close in order; the next one to close is {following:%Y-%m}.",
            extra={"next_open": f"{following:%Y-%m}"},
        )
    return latest


@dataclass(frozen=True)
class _MonthFigures:
    """What the close reads from the database, per institution: the inputs of ``capitation.month_statement``."""

    previous: dict[int, dict[str, Any]]
    """Last month's statements (empty on the first close)."""
    heads: dict[int, list[int]]
    """Headcounts as of [this month's end, last month's end, (first close only) the month before's end]."""
    actual: dict[int, int]
    """Last month's actual fund payments up to the watermark."""
    adjustments: dict[int, list[dict[str, Any]]]
    """Re-clearings of already cleared months touched since the previous close."""


async def _month_figures(year: int, month: int, latest: dict[str, Any] | None, watermark: int) -> _MonthFigures:
    cleared_year, cleared_month = previous_month(year, month)
    previous = await queries.statements_of_month(cleared_year, cleared_month) if latest else {}
    # On the first close last month's prepayment is not in the books: it follows from the month before's headcount.
    days = [month_end(year, month), month_end(cleared_year, cleared_month)]
    if not previous:
        days.append(month_end(*previous_month(cleared_year, cleared_month)))
    return _MonthFigures(
        previous=previous,
        heads=await queries.headcounts(days),
        actual=await queries.actual_by_unit(
            month_start(cleared_year, cleared_month), month_start(year, month), watermark
        ),
        adjustments=await _adjustments(latest, watermark, month_start(cleared_year, cleared_month)),
    )


def _cleared_prepayment(
    institution: int, figures: _MonthFigures, cleared_params: parameters.PolicyYear, heads: list[int]
) -> int:
    """What last month prepaid: from its statement; on the first close, from the headcount the month before."""
    if institution in figures.previous:
        return int(figures.previous[institution]["prepayment_fen"])
    if not figures.previous:
        return capitation.monthly_prepayment(cleared_params, heads[2]).paid_fen
    return 0  # an institution new since last month's close was prepaid nothing


def _statement_row(
    close_id: int,
    year: int,
    month: int,
    institution: int,
    figures: _MonthFigures,
    params: parameters.PolicyYear,
    cleared_params: parameters.PolicyYear,
) -> dict[str, Any]:
    """One institution's statement: this month's prepayment, last month's clearing, the late re-clearings."""
    cleared_year, cleared_month = previous_month(year, month)
    heads = figures.heads.get(institution, [0, 0, 0])
    cleared_prepayment = _cleared_prepayment(institution, figures, cleared_params, heads)
    actual = figures.actual.get(institution, 0)
    adj = figures.adjustments.get(institution, [])
    adjustment_paid = sum(a["paid_fen"] for a in adj)
    books = capitation.month_statement(params, cleared_params, heads[1], cleared_prepayment, actual, adjustment_paid)
    return {
        "close": close_id,
        "year": year,
        "month": month,
        "institution": institution,
        "headcount": heads[0],
        "prepayment_headcount": heads[1],
        "prepayment_fen": books.prepayment.paid_fen,
        "quality_guarantee_fen": books.prepayment.quality_guarantee_fen,
        "adjustment_fund_fen": books.prepayment.adjustment_fund_fen,
        "cleared_year": cleared_year,
        "cleared_month": cleared_month,
        "cleared_prepayment_fen": cleared_prepayment,
        "cleared_actual_fen": actual,
        "cleared_fen": books.clearing.cleared_fen,
        "withheld_fen": books.clearing.withheld_fen,
        "clearing_balance_fen": books.clearing_balance_fen,
        "adjustment_actual_fen": sum(a["actual_fen"] for a in adj),
        "adjustment_cleared_fen": sum(a["cleared_fen"] for a in adj),
        "adjustment_withheld_fen": sum(a["withheld_fen"] for a in adj),
        "adjustment_fen": adjustment_paid,
        "payable_fen": books.payable_fen,
    }


async def _record_adjustment_lines(close_id: int, adjustments: dict[int, list[dict[str, Any]]]) -> None:
    """The re-clearing lines behind each statement's adjustment figures."""
    ids = await queries.statement_ids(close_id)
    await queries.insert_adjustments(
        [{**a, "statement": ids[i], "institution": i} for i, lines in adjustments.items() if i in ids for a in lines]
    )


async def _adjustments(latest: dict[str, Any] | None, watermark: int, before: date) -> dict[int, list[dict[str, Any]]]:
    """{institution: [re-clearing of one touched month]} for movements since the previous close (R13 interp.)."""
    if latest is None:
        return {}
    touched: dict[tuple[int, int, int], list[int]] = {}
    for r in await queries.late_movements(latest["watermark"], watermark, before):
        day = r["day"] if isinstance(r["day"], date) else date.fromisoformat(str(r["day"]))
        entry = touched.setdefault((r["unit"], day.year, day.month), [0, 0])
        entry[0] += int(r["movements"])
        entry[1] += int(r["fund"])
    if not touched:
        return {}
    cleared = await queries.cleared_months()
    found: dict[int, list[dict[str, Any]]] = {}
    for (unit, y, m), (movements, late_fund) in sorted(touched.items()):
        known = cleared.get((unit, y, m))
        if known is not None:
            delta = capitation.reclear(
                policy_year(y), known["prepayment_fen"], known["actual_fen"], known["actual_fen"] + late_fund
            )
            figures = (delta.cleared_fen, delta.withheld_fen, delta.paid_fen)
        else:
            figures = (0, 0, 0)
        found.setdefault(unit, []).append(
            {
                "touched_year": y,
                "touched_month": m,
                "movements": movements,
                "actual_fen": late_fund,
                "cleared_fen": figures[0],
                "withheld_fen": figures[1],
                "paid_fen": figures[2],
                "cleared_here": known is not None,
            }
        )
    return found


def _ref(row: dict[str, Any]) -> InstitutionRef:
    return InstitutionRef(id=row["institution"], code=row["institution_code"], name=row["institution_name"])


_MONTH_FIELDS = tuple(c for c in queries.STATEMENT_COLUMNS if c not in ("close", "institution"))


async def month_statements(year: int, month: int, institution_id: int | None = None) -> MonthStatements:
    close = await queries.close_row(year, month)
    if close is None:
        raise _not_closed(year, month)
    adjustments: dict[int, list[AdjustmentLine]] = {}
    for a in await queries.adjustments(close["id"]):
        adjustments.setdefault(a["institution"], []).append(
            AdjustmentLine(
                **{k: a[k] for k in AdjustmentLine.__struct_fields__ if k != "cleared_here"},
                cleared_here=bool(a["cleared_here"]),
            )
        )
    items = [
        MonthStatement(
            institution=_ref(r),
            adjustments=adjustments.get(r["institution"], []),
            **{k: r[k] for k in _MONTH_FIELDS},
        )
        for r in await queries.statements(close["id"])
        if institution_id is None or r["institution"] == institution_id
    ]
    if institution_id is not None and not items:
        raise DomainError("not_found", "该机构不在本月结算单中", "No statement of this institution this month.")
    if institution_id is not None and close["previous_watermark"] is not None:
        cleared_year, cleared_month = previous_month(year, month)
        lines = await queries.late_movement_lines(
            institution_id, close["previous_watermark"], close["watermark"], month_start(cleared_year, cleared_month)
        )
        items[0].movements = [
            MovementLine(
                settlement_id=r["id"],
                kind=r["kind"],
                facility_id=r["facility"],
                visit_date=r["visit_date"],
                fund_fen=r["fund_fen"],
                reverses=r["reverses"],
            )
            for r in lines
        ]
    totals = MonthTotals(**{k: sum(getattr(i, k) for i in items) for k in MonthTotals.__struct_fields__})
    return MonthStatements(
        year=year,
        month=month,
        closed_at=close["closed_at"],
        closed_by=close["closed_by"],
        closed_by_name=(await actor_names([close["closed_by"]]))[close["closed_by"]],
        watermark=close["watermark"],
        items=items,
        totals=totals,
    )


async def books(clock: Clock) -> CapitationBooks:
    rows = await queries.closes()
    settled = await queries.settled_years()
    last = rows[-1] if rows else None
    following = next_month_start(last["year"], last["month"]) if last else None
    return CapitationBooks(
        closes=[
            CloseView(
                year=r["year"],
                month=r["month"],
                closed_at=r["closed_at"],
                closed_by=r["closed_by"],
                watermark=r["watermark"],
            )
            for r in rows
        ],
        settled_years=settled,
        next_open=f"{following:%Y-%m}" if following else None,
    )


# --- year end (R13.4-5) ---


async def close_year(clock: Clock, actor: str, year: int) -> YearStatements:
    """Settle ``year`` once (R13.4-5): needs January of the next year closed (it clears December)."""
    params = policy_year(year)
    if await queries.year_end_row(year) is None:
        if await queries.close_row(year + 1, 1) is None:
            raise DomainError(
                "december_not_cleared",
                f"{year} 年 12 月尚未清算：请先完成 {year + 1} 年 1 月的月结",
                f"December {year} is cleared by the close of January {year + 1}; close that month first.",
            )
        watermark = await queries.settlement_watermark()
        try:
            await _close_year(clock, actor, year, params, watermark)
        except UniqueViolation:
            pass
    return await year_statements(year)


async def _close_year(clock: Clock, actor: str, year: int, params: parameters.PolicyYear, watermark: int) -> None:
    """The year's books in one transaction: per institution the year end (R13.4-5) with its assessment's
    release share and the adjustment fund it was allocated; then the fund's accounts of the year are settled."""
    async with write_transaction():
        await queries.lock_table("capitation_year_end")
        if await queries.year_end_row(year) is not None:
            return
        now = clock.now()
        header = await queries.insert_year_end(year, watermark, now, actor)
        heads = await queries.headcounts([date(year, 12, 31)])
        actual = await queries.year_actual_by_unit(year, watermark)
        totals = await queries.year_totals(year)
        assessed = await queries.quality_assessments(year)
        fund_totals = await queries.fund_totals(year)
        rows = []
        for inst in await queries.institutions():
            i = inst["id"]
            t = totals.get(i, {"prepaid": 0, "cleared": 0, "withheld": 0, "months": 0})
            f = fund_totals.get(i, {"accrued": 0, "allocated": 0, "balance": 0})
            grade = assessed.get(i)
            headcount = heads.get(i, [0])[0]
            outcome = capitation.year_account(
                params,
                headcount,
                actual.get(i, 0),
                t["cleared"],
                t["withheld"],
                release_bp=int(grade["release_bp"]) if grade else None,
                allocated_fen=f["allocated"],
            )
            rows.append(
                {
                    "year_end": header["id"],
                    "year": year,
                    "institution": i,
                    "headcount": headcount,
                    "months_cleared": t["months"],
                    "prepaid_fen": t["prepaid"],
                    **{k: getattr(outcome, k) for k in capitation.YearAccount.__struct_fields__},
                    "assessment_score": grade["score"] if grade else None,
                    "assessment_grade": grade["grade"] if grade else "",
                    "fund_accrued_fen": f["accrued"],
                    "fund_settled_fen": f["balance"],
                }
            )
        await queries.insert_year_statements(rows)
        await fund.settle_year(now, actor, year)
        await record(
            now, actor, "capitation_settle", "capitation_year_end", header["id"], {"year": year, "watermark": watermark}
        )


async def year_statements(year: int, institution_id: int | None = None) -> YearStatements:
    header = await queries.year_end_row(year)
    if header is None:
        raise DomainError("year_not_settled", f"{year} 年度尚未年终结算", f"{year} has not been settled.")
    fields = [k for k in YearStatement.__struct_fields__ if k != "institution"]
    items = [
        YearStatement(institution=_ref(r), **{k: r[k] for k in fields})
        for r in await queries.year_statements(header["id"])
        if institution_id is None or r["institution"] == institution_id
    ]
    for item in items:
        item.threshold_reached = bool(item.threshold_reached)
    return YearStatements(
        year=year,
        settled_at=header["settled_at"],
        settled_by=header["settled_by"],
        settled_by_name=(await actor_names([header["settled_by"]]))[header["settled_by"]],
        watermark=header["watermark"],
        items=items,
    )
