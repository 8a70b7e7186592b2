"""R14 facility monthly reports and R15 yearly assessment indicators.

R14: from the 1st of the following month a unit's report of last month's settled visits is available; its clerk
(of the institution or one of its stations) confirms it, by the ``report_due_day`` (the 5th); the officer sees
which units have not. A clerk sees only their own unit's report.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from member_api.agency import queries
from member_api.agency.periods import month_not_ended, policy_year
from member_api.agency.schemas import (
    Assessment,
    AssessmentRow,
    Confirmation,
    FacilityReport,
    InstitutionRef,
    ReportLine,
    ReportStatus,
    ReportStatusList,
    StationLine,
    TierLine,
)
from member_api.audit.service import record
from member_api.core.clock import Clock, local_today
from member_api.core.errors import not_found
from member_api.core.principal import Principal, forbidden
from member_api.db import write_transaction
from member_api.policy import capitation
from member_api.policy.capitation import month_end, month_start, next_month_start

_FIGURES = ("visits", "general_fee_fen", "compliant_fen", "non_compliant_fen", "fund_fen", "member_fen")


def _line(row: dict[str, Any] | None) -> dict[str, int]:
    values = {k: int((row or {}).get(k) or 0) for k in _FIGURES}
    values["bill_total_fen"] = values["general_fee_fen"] + values["compliant_fen"] + values["non_compliant_fen"]
    return values


def _add(total: dict[str, int], line: dict[str, int]) -> None:
    for k, v in line.items():
        total[k] = total.get(k, 0) + v


def _check_ended(clock: Clock, year: int, month: int) -> None:
    policy_year(year)
    if local_today(clock) <= month_end(year, month):
        raise month_not_ended(year, month)


async def caller_unit(principal: Principal, unit_id: int) -> None:
    """Officers see every unit; a clerk only the unit of their facility (404 for others, as for any id)."""
    if principal.role == "officer":
        return
    if principal.role != "clerk" or principal.facility_id is None:
        raise forbidden()
    if await queries.unit_of(principal.facility_id) != unit_id:
        raise not_found("机构报表", "facility report")


def _confirmation(row: dict[str, Any] | None) -> Confirmation | None:
    if row is None:
        return None
    return Confirmation(
        confirmed_at=row["confirmed_at"],
        confirmed_by=row["confirmed_by"],
        on_time=bool(row["on_time"]),
        visits=row["visits"],
        bill_total_fen=row["bill_total_fen"],
        fund_fen=row["fund_fen"],
        member_fen=row["member_fen"],
    )


async def facility_report(clock: Clock, year: int, month: int, unit_id: int) -> FacilityReport:
    _check_ended(clock, year, month)
    facilities = await queries.unit_facilities(unit_id)
    if not facilities or facilities[0]["id"] != unit_id:
        raise not_found("机构", "facility")
    rows = {
        r["facility"]: r
        for r in await queries.report_by_facility(unit_id, month_start(year, month), next_month_start(year, month))
    }
    totals: dict[str, int] = {}
    tiers: dict[tuple[str, str], dict[str, int]] = {}
    stations = []
    for f in facilities:
        line = _line(rows.get(f["id"]))
        _add(totals, line)
        _add(tiers.setdefault((f["kind"], f["tier"]), {}), line)
        stations.append(
            StationLine(
                facility_id=f["id"],
                facility_code=f["code"],
                facility_name=f["name"],
                kind=f["kind"],
                tier=f["tier"],
                **line,
            )
        )
    unit = facilities[0]
    return FacilityReport(
        year=year,
        month=month,
        institution=InstitutionRef(id=unit["id"], code=unit["code"], name=unit["name"]),
        due_date=capitation.report_due(policy_year(year), year, month),
        totals=ReportLine(**totals),
        by_tier=[TierLine(kind=k, tier=t, **v) for (k, t), v in tiers.items()],
        by_station=stations,
        confirmation=_confirmation(await queries.confirmation(year, month, unit_id)),
    )


async def confirm(clock: Clock, clerk: Principal, year: int, month: int) -> FacilityReport:
    """The clerk's unit confirms its report once (a second confirmation returns the first); late is recorded."""
    assert clerk.facility_id is not None
    unit_id = await queries.unit_of(clerk.facility_id)
    assert unit_id is not None
    report = await facility_report(clock, year, month, unit_id)
    if report.confirmation is not None:
        return report
    now = clock.now()
    async with write_transaction():
        row = await queries.insert_confirmation(
            {
                "year": year,
                "month": month,
                "institution": unit_id,
                "confirmed_by": clerk.staff_id,
                "confirmed_at": now,
                "due_date": report.due_date,
                "on_time": local_today(clock) <= report.due_date,
                "visits": report.totals.visits,
                "bill_total_fen": report.totals.bill_total_fen,
                "fund_fen": report.totals.fund_fen,
                "member_fen": report.totals.member_fen,
            }
        )
        if row is not None:
            await record(now, clerk.actor, "report_confirmed", "facility", unit_id, {"period": f"{year}-{month:02d}"})
    report.confirmation = _confirmation(await queries.confirmation(year, month, unit_id))
    return report


async def report_status(clock: Clock, year: int, month: int, confirmed: bool | None) -> ReportStatusList:
    """R14 for the officer: every unit with settled visits (and every primary institution), confirmed or not."""
    _check_ended(clock, year, month)
    due = capitation.report_due(policy_year(year), year, month)
    overdue = local_today(clock) > due
    totals: dict[int, dict[str, int]] = {}
    for r in await queries.report_by_facility(None, month_start(year, month), next_month_start(year, month)):
        _add(totals.setdefault(r["unit"], {}), _line(r))
    confirmations = await queries.confirmations(year, month)
    primary = {i["id"] for i in await queries.institutions()}
    items = []
    for unit in await queries.units():
        if unit["id"] not in primary and unit["id"] not in totals:
            continue
        done = confirmations.get(unit["id"])
        if confirmed is not None and (done is not None) != confirmed:
            continue
        line = totals.get(unit["id"], {})
        items.append(
            ReportStatus(
                institution=InstitutionRef(id=unit["id"], code=unit["code"], name=unit["name"]),
                visits=line.get("visits", 0),
                fund_fen=line.get("fund_fen", 0),
                confirmed=done is not None,
                confirmed_at=done["confirmed_at"] if done else None,
                on_time=bool(done["on_time"]) if done else None,
                overdue=done is None and overdue,
            )
        )
    return ReportStatusList(
        year=year,
        month=month,
        due_date=due,
        confirmed=sum(1 for i in items if i.confirmed),
        not_confirmed=sum(1 for i in items if not i.confirmed),
        items=items,
    )


async def assessment(clock: Clock, year: int, institution_id: int | None = None) -> Assessment:
    """R15 per primary institution for ``year`` (up to today while the year runs)."""
    policy_year(year)
    today = local_today(clock)
    if today < date(year, 1, 1):
        raise month_not_ended(year, 1)
    as_of = min(today, date(year, 12, 31))
    heads = await queries.headcounts([as_of])
    current, previous = await queries.year_figures(year), await queries.year_figures(year - 1)
    referrals = await queries.referrals_by_unit(date(year, 1, 1), date(year + 1, 1, 1))
    disputes: dict[int, int] = {}
    for d in await queries.confirmed_disputes(date(year, 1, 1), date(year + 1, 1, 1)):
        disputes[d["unit"]] = disputes.get(d["unit"], 0) + 1
    settled = await queries.settled_visits_by_unit(date(year, 1, 1), date(year + 1, 1, 1))
    items = []
    for inst in await queries.institutions():
        i = inst["id"]
        if institution_id is not None and i != institution_id:
            continue
        now, before = _line(current.get(i)), _line(previous.get(i))
        figures = capitation.indicators(
            headcount=heads.get(i, [0])[0],
            visits=now["visits"],
            referrals=referrals.get(i, 0),
            general_fee_fen=now["general_fee_fen"],
            compliant_fen=now["compliant_fen"],
            non_compliant_fen=now["non_compliant_fen"],
            fund_fen=now["fund_fen"],
            previous_visits=before["visits"],
            previous_bill_total_fen=before["bill_total_fen"],
        )
        items.append(
            AssessmentRow(
                institution=InstitutionRef(id=i, code=inst["code"], name=inst["name"]),
                confirmed_disputes=disputes.get(i, 0),
                disputes_per_1000_visits_tenths=capitation.per_thousand_tenths(disputes.get(i, 0), settled.get(i, 0)),
                **{k: getattr(figures, k) for k in capitation.Indicators.__struct_fields__},
            )
        )
    if institution_id is not None and not items:
        raise not_found("机构", "institution")
    return Assessment(year=year, as_of=as_of, items=items)
