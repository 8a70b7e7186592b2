"""R14 facility monthly reports and R15 yearly assessment indicators.

R14: from the 1st of the following month a unit's report of last month's settled visits is available; its clerk
(of the institution or one of its stations) confirms it, by the ``report_due_day`` (the 5th); the officer sees
which units have not. A clerk sees only their own unit's report.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import msgspec

from member_api.agency import queries
from member_api.agency.periods import month_not_ended, policy_year
from member_api.agency.schemas import (
    Assessment,
    AssessmentRow,
    ChangedSettlement,
    ComparisonLine,
    Confirmation,
    ConfirmationChange,
    FacilityReport,
    FigureDifference,
    Figures,
    InstitutionRef,
    ReportLine,
    ReportStatus,
    ReportStatusList,
    StationLine,
    Submission,
    SubmittedLine,
    TierLine,
)
from member_api.audit.service import record
from member_api.auth.service import actor_names
from member_api.core.clock import Clock, local_today
from member_api.core.errors import DomainError, FieldError, not_found
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
    confirmed = await queries.confirmation(year, month, unit_id)
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
        confirmation=_confirmation(confirmed),
        changed_since_confirmation=await _change(confirmed, unit_id, year, month, totals),
    )


def _figures(line: dict[str, Any]) -> Figures:
    return Figures(**{k: int(line.get(k) or 0) for k in COMPARED})


async def _change(
    confirmed: dict[str, Any] | None, unit_id: int, year: int, month: int, totals: dict[str, int]
) -> ConfirmationChange | None:
    """R14 interpretation: a confirmed month whose figures later moved names the movements that moved them."""
    if confirmed is None or confirmed["settlement_watermark"] is None:
        return None
    moved = await queries.movements_after(
        unit_id, month_start(year, month), next_month_start(year, month), int(confirmed["settlement_watermark"])
    )
    if not moved:
        return None
    return ConfirmationChange(
        confirmed=_figures(confirmed),
        now=_figures(totals),
        settlements=[
            ChangedSettlement(
                settlement_id=r["id"],
                kind=r["kind"],
                facility_id=r["facility"],
                facility_name=r["facility_name"],
                visit_date=r["visit_date"],
                fund_fen=r["fund_fen"],
                reverses=r["reverses"],
            )
            for r in moved
        ],
    )


async def confirm(clock: Clock, clerk: Principal, year: int, month: int) -> FacilityReport:
    """The clerk's unit confirms its report once (a second confirmation returns the first); late is recorded."""
    assert clerk.facility_id is not None
    unit_id = await queries.unit_of(clerk.facility_id)
    assert unit_id is not None
    mark = await queries.settlement_watermark()  # before the figures: every movement up to it is in them
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
                "settlement_watermark": mark,
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
    changed = await queries.changed_confirmations(year, month, month_start(year, month), next_month_start(year, month))
    submitted = await queries.latest_submissions(year, month)
    matches = {unit: (await comparison(clock, year, month, unit)).matches for unit in submitted}
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
                changed_since_confirmation=unit["id"] in changed,
                submitted=unit["id"] in submitted,
                submission_matches=matches.get(unit["id"]),
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


# --- R14 submissions: the unit's own statistics against the system's, line by line ---

COMPARED = ("visits", "bill_total_fen", "fund_fen", "member_fen")


async def submit(
    clock: Clock, clerk: Principal, year: int, month: int, lines: list[SubmittedLine], source: str
) -> Submission:
    """The clerk's unit submits its statistics of the month (API or upload); a later submission supersedes."""
    _check_ended(clock, year, month)
    assert clerk.facility_id is not None
    unit_id = await queries.unit_of(clerk.facility_id)
    assert unit_id is not None
    facilities = {f["code"]: f for f in await queries.unit_facilities(unit_id)}
    seen: set[str] = set()
    errors = []
    for n, line in enumerate(lines):
        if line.facility_code not in facilities:
            errors.append(FieldError(field=f"lines[{n}].facility_code", message="not this unit or one of its stations"))
        elif line.facility_code in seen:
            errors.append(FieldError(field=f"lines[{n}].facility_code", message="a second line of this facility"))
        seen.add(line.facility_code)
    if errors:
        raise DomainError(
            "submission_invalid",
            "报表行的机构编码须为本机构或其所属卫生站，且每个机构一行",
            "Each line names this unit or one of its stations, once.",
            errors=errors,
        )
    now = clock.now()
    async with write_transaction():
        submission_id = await queries.insert_submission(
            {
                "year": year,
                "month": month,
                "institution": unit_id,
                "source": source,
                "submitted_by": clerk.actor,
                "submitted_at": now,
            },
            [(facilities[x.facility_code]["id"], x.visits, x.bill_total_fen, x.fund_fen, x.member_fen) for x in lines],
        )
        await record(
            now,
            clerk.actor,
            "report_submitted",
            "facility_submission",
            submission_id,
            {"period": f"{year}-{month:02d}", "source": source, "lines": len(lines)},
        )
    return await comparison(clock, year, month, unit_id)


async def comparison(clock: Clock, year: int, month: int, unit_id: int) -> Submission:
    """The latest submission of the unit against the system's figures, facility by facility, figure by figure."""
    report = await facility_report(clock, year, month, unit_id)
    row = await queries.latest_submission(year, month, unit_id)
    if row is None:
        raise DomainError("submission_not_found", "本月尚未报送统计报表", "Nothing submitted for this month.")
    submitted = await queries.submission_lines(row["id"])
    lines = []
    for station in report.by_station:
        system = Figures(**{k: getattr(station, k) for k in COMPARED})
        theirs = submitted.get(station.facility_id)
        mine = _figures(theirs) if theirs else None
        if mine is None and not any(getattr(system, k) for k in COMPARED):
            continue  # a station with nothing on either side is no line
        differences = [
            FigureDifference(
                figure=k,  # type: ignore[arg-type]
                submitted=getattr(mine, k) if mine else 0,
                system=getattr(system, k),
                difference=(getattr(mine, k) if mine else 0) - getattr(system, k),
            )
            for k in COMPARED
            if (getattr(mine, k) if mine else 0) != getattr(system, k)
        ]
        lines.append(
            ComparisonLine(
                facility_id=station.facility_id,
                facility_code=station.facility_code,
                facility_name=station.facility_name,
                submitted=mine,
                system=system,
                differences=differences,
            )
        )
    names = await actor_names([row["submitted_by"]])
    return Submission(
        id=row["id"],
        year=year,
        month=month,
        institution=report.institution,
        source=row["source"],
        submitted_by_name=names[row["submitted_by"]],
        submitted_at=row["submitted_at"],
        matches=all(not line.differences for line in lines),
        lines=lines,
    )


_UPLOAD_COLUMNS = {"机构编码": "facility_code", "就诊人次": "visits", "医疗费用总额(元)": "bill_total_fen",
                   "统筹支付(元)": "fund_fen", "个人支付(元)": "member_fen"}  # fmt: skip


def parse_upload(body: bytes) -> list[SubmittedLine]:
    """A CSV with the headings of the report's own download (UTF-8, with or without BOM, or GB18030 as spreadsheet
    programs save it); amounts in yuan with at most two decimals. A total line (机构编码 "合计") is skipped."""
    try:
        text_ = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text_ = body.decode("gb18030")
        except UnicodeDecodeError:
            raise _bad_upload("The file is not UTF-8 or GB18030 text.") from None
    try:
        rows = list(csv.reader(io.StringIO(text_, newline="")))
    except csv.Error:
        raise _bad_upload("The file is not CSV.") from None
    if not rows:
        raise _bad_upload("The file is empty.")
    heading = [h.strip() for h in rows[0]]
    missing = [h for h in _UPLOAD_COLUMNS if h not in heading]
    if missing:
        raise _bad_upload(f"Missing columns: {', '.join(missing)}.")
    at = {field: heading.index(h) for h, field in _UPLOAD_COLUMNS.items()}
    lines = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            values = {field: row[i].strip() for field, i in at.items()}
        except IndexError:
            raise _bad_upload(f"Line {n} has too few cells.") from None
        if values["facility_code"] == "合计":
            continue
        try:
            lines.append(
                msgspec.convert(
                    {
                        "facility_code": values["facility_code"],
                        "visits": int(values["visits"]),
                        **{k: _fen(values[k]) for k in ("bill_total_fen", "fund_fen", "member_fen")},
                    },
                    SubmittedLine,
                )
            )
        except (ValueError, ArithmeticError, msgspec.ValidationError):
            raise _bad_upload(f"Line {n} is not a facility code, a count and amounts in yuan.") from None
    if not lines:
        raise _bad_upload("The file has no lines.")
    return lines


def _fen(value: str) -> int:
    amount = Decimal(value.replace(",", ""))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(value)
    return int(amount * 100)


def _bad_upload(en: str) -> DomainError:
    return DomainError(
        "submission_file_invalid",
        "报表文件无法读取：请使用本系统下载的报表格式（机构编码、就诊人次、医疗费用总额(元)、统筹支付(元)、个人支付(元)）",
        en,
        errors=[FieldError(field="file", message=en)],
    )
