"""Read models a resident checks every visit: remaining cap, history pages, totals for a chart."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from member_api.benefits.schemas import Benefits, FacilityTotal, MonthTotal, SettlementPage, Summary
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, not_found
from member_api.core.types import decode_cursor, encode_cursor
from member_api.facilities import service as facility_service
from member_api.ledger import service as ledger
from member_api.ledger.schemas import SettlementView
from member_api.members.service import enrollment
from member_api.policy import parameters
from member_api.policy.eligibility import is_eligible
from member_api.policy.reimbursement import remaining_caps


def _year_params(year: int) -> parameters.PolicyYear:
    try:
        return parameters.for_year(year)
    except parameters.NoPolicyYear:
        raise DomainError(
            "no_policy_year", f"{year} 年度没有普通门诊统筹政策参数", f"No policy parameters for {year}."
        ) from None


async def benefits(ctx: AppContext, member_id: int, year: int | None) -> Benefits:
    today = local_today(ctx.clock)
    year = year or today.year
    params = _year_params(year)
    # Three reads of three large tables (enrollment, account, designation), sent at once on separate pooled
    # connections: the answer waits for the slowest, not for their sum (issue 31: p99 at 3 million members).
    enrolled, state, current = await asyncio.gather(
        enrollment(member_id, year), ledger.state(member_id, year), facility_service.current(ctx, member_id, year)
    )
    if enrolled is None:
        raise DomainError(
            "not_enrolled", f"{year} 年度未参加居民医保", f"Not enrolled for {year}.", extra={"year": year}
        )
    annual, ooc = remaining_caps(params, state)
    return Benefits(
        year=year,
        enrolled=True,
        eligible=is_eligible(enrolled, today if year == today.year else date(year, 12, 31)),
        annual_cap_fen=params.annual_cap_fen,
        used_fen=state.used_fen,
        remaining_fen=annual,
        out_of_city_cap_fen=params.out_of_city_cap_fen,
        out_of_city_used_fen=state.used_out_of_city_fen,
        out_of_city_remaining_fen=ooc,
        designation=current.designation,
        as_of=ctx.clock.now(),
    )


async def _names(rows: list[dict[str, Any]]) -> dict[int, str]:
    ids = list({r["facility"] for r in rows})
    return await facility_service.names_of(ids) if ids else {}


async def history(
    member_id: int, year: int | None, kind: str | None, facility_id: int | None, cursor: str | None, limit: int
) -> SettlementPage:
    """Newest first, keyset on id: rows added while paging land before the cursor, never twice."""
    rows = await ledger.member_page(member_id, year, kind, facility_id, decode_cursor(cursor), limit + 1)
    page = rows[:limit]
    names, reversed_by = await _names(page), await ledger.reversals_of([r["id"] for r in page])
    items = [ledger.view(r, names.get(r["facility"], ""), reversed_by.get(r["id"])) for r in page]
    next_cursor = encode_cursor(page[-1]["id"]) if len(rows) > limit else None
    return SettlementPage(items=items, next_cursor=next_cursor)


async def one(member_id: int, settlement_id: int) -> SettlementView:
    row = await ledger.member_movement(member_id, settlement_id)
    if row is None:
        raise not_found("结算记录", "settlement")
    names, reversed_by = await _names([row]), await ledger.reversals_of([row["id"]])
    items = (await ledger.items_of([row["id"]])).get(row["id"]) if row.get("itemised") else None
    return ledger.view(row, names.get(row["facility"], ""), reversed_by.get(row["id"]), items)


async def summary(ctx: AppContext, member_id: int, year: int | None) -> Summary:
    year = year or local_today(ctx.clock).year
    _year_params(year)
    rows = await ledger.member_year_rows(member_id, year)
    months: dict[int, MonthTotal] = {}
    facilities: dict[int, list[int]] = {}
    for r in rows:
        visit: date = r["visit_date"]
        visits = 1 if r["kind"] != "reversal" else -1
        m = months.setdefault(visit.month, MonthTotal(month=visit.month, fund_fen=0, member_fen=0, visits=0))
        m.fund_fen += r["fund_fen"]
        m.member_fen += r["member_fen"]
        m.visits += visits
        f = facilities.setdefault(r["facility"], [0, 0, 0])
        f[0] += r["fund_fen"]
        f[1] += r["member_fen"]
        f[2] += visits
    names = await _names([{"facility": k} for k in facilities])
    return Summary(
        year=year,
        by_month=[months[k] for k in sorted(months)],
        by_facility=[
            FacilityTotal(facility_id=k, facility_name=names.get(k, ""), fund_fen=v[0], member_fen=v[1], visits=v[2])
            for k, v in sorted(facilities.items())
        ],
    )
