"""Agency (officer): capitation statements per institution as a table and a chart (R13), closing a month, the
year close (年终清算), downloads (CSV, XLSX), the R14 report confirmations, the R15 indicators and the R16 signals.
Everything is the agency area's own services and export sheets; money stays integer fen until shown."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import msgspec
import pygal
from litestar import Request, Response, get, post
from pygal.style import Style

from member_api.agency import export, reports, service, signals
from member_api.agency.export import CSV_TYPE, XLSX_TYPE, Sheet
from member_api.agency.schemas import (
    AllocationRequest,
    FundLedger,
    FundMovement,
    MonthStatements,
    QualityAssessmentRequest,
)
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError
from member_api.core.principal import Principal
from member_api.web.common import labels
from member_api.web.common.forms import form_of, text, yuan_to_fen
from member_api.web.common.pages import flash, redirect
from member_api.web.console.desk import desk_page, new_key, once
from member_api.web.console.staff import ROOT

_PERIOD = re.compile(r"^(\d{4})-(\d{1,2})$")


def _previous_month(today: date) -> tuple[int, int]:
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def _period(value: str | None, default: tuple[int, int]) -> tuple[int, int]:
    match = _PERIOD.match(value or "")
    if match and 1 <= int(match.group(2)) <= 12:
        return int(match.group(1)), int(match.group(2))
    return default


def _month_sheets(books: MonthStatements) -> tuple[Sheet, Sheet]:
    lines = [(item, line) for item in books.items for line in item.adjustments]
    return Sheet("月结算单", export.MONTH_STATEMENT, books.items), Sheet("调整明细", export.ADJUSTMENT, lines)


def _download(data: bytes, media: str, filename: str) -> Response[bytes]:
    return Response(data, media_type=media, headers={**export.attachment(filename), "Cache-Control": "no-store"})


# ---- monthly capitation (R13.2-3) ----------------------------------------------------------------------------


@get("/agency")
async def capitation(
    request: Request[Any, Any, Any], ctx: AppContext, officer: Principal, period: str | None = None
) -> Any:
    books = await service.books(ctx.clock)
    latest = (books.closes[-1].year, books.closes[-1].month) if books.closes else None
    shown = _period(period, latest or _previous_month(local_today(ctx.clock)))
    statements, missing = None, None
    try:
        statements = await service.month_statements(*shown)
    except DomainError as err:
        missing = labels.words(err)
    next_close = books.next_open or "{:04d}-{:02d}".format(*_previous_month(local_today(ctx.clock)))
    return await desk_page(
        request,
        ctx,
        officer,
        "console/agency.html",
        "capitation",
        books=books,
        shown="{:04d}-{:02d}".format(*shown),
        statements=statements,
        missing=missing,
        next_close=next_close,
    )


@post("/agency/close", status_code=200)
async def close_month(request: Request[Any, Any, Any], ctx: AppContext, officer: Principal) -> Any:
    form = await form_of(request)
    year, month = _period(text(form, "period", 7), (0, 0))
    try:
        if not year:
            raise DomainError("period_invalid", "请选择要月结的月份", "Choose a month.")
        if text(form, "confirm", 5) != "1":
            raise DomainError("confirmation_required", "请勾选确认：月结后不能撤销", "Confirm the close.")
        await service.close_month(ctx.clock, officer.actor, year, month)
    except DomainError as err:
        flash(request, f"{err.message_zh}（{err.code}）", "error")
        return redirect(f"{ROOT}/agency")
    flash(request, f"{year} 年 {month} 月已月结，结算单已生成")
    return redirect(f"{ROOT}/agency?period={year:04d}-{month:02d}")


STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2530",
    foreground_strong="#1d2530",
    foreground_subtle="#e3e7ed",
    colors=("#0a6bd6", "#138a4b", "#e3a008"),
    font_family="'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=12,
    value_font_size=10,
    title_font_size=14,
)
_SCRIPT = re.compile(rb"<script\b.*?</script>", re.DOTALL)


def month_chart(books: MonthStatements) -> bytes:
    """Prepaid, cleared and withheld per institution, in yuan: a plain SVG picture (no script, no web font). The
    institutions with money this month, largest prepayment first (at most 25; the table lists every one)."""
    items = sorted(
        (i for i in books.items if i.prepayment_fen or i.cleared_fen or i.withheld_fen),
        key=lambda i: -i.prepayment_fen,
    )[:25]
    chart = pygal.Bar(
        style=STYLE,
        width=900,
        height=420,
        js=[],
        legend_at_bottom=True,
        x_label_rotation=20 if len(items) > 4 else 0,
        truncate_label=14,
        y_title="元",
        title=f"{books.year} 年 {books.month} 月 按人头付费",
        print_values=False,
        margin=12,
    )
    chart.x_labels = [item.institution.name for item in items]
    chart.add("预付", [item.prepayment_fen / 100 for item in items])
    chart.add("清算", [item.cleared_fen / 100 for item in items])
    chart.add("暂扣质量保证金", [item.withheld_fen / 100 for item in items])
    return _SCRIPT.sub(b"", bytes(chart.render()))


@get("/agency/{year:int}/{month:int}/chart.svg")
async def chart(officer: Principal, year: int, month: int) -> Response[bytes]:
    books = await service.month_statements(year, month)
    return Response(month_chart(books), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@get("/agency/{year:int}/{month:int}/statements.csv")
async def month_csv(officer: Principal, year: int, month: int) -> Response[bytes]:
    books = await service.month_statements(year, month)
    return _download(export.to_csv(_month_sheets(books)[0]), CSV_TYPE, f"capitation-{year}-{month:02d}.csv")


@get("/agency/{year:int}/{month:int}/statements.xlsx")
async def month_xlsx(officer: Principal, year: int, month: int) -> Response[bytes]:
    books = await service.month_statements(year, month)
    return _download(export.to_xlsx(*_month_sheets(books)), XLSX_TYPE, f"capitation-{year}-{month:02d}.xlsx")


# ---- year end (R13.4-5) --------------------------------------------------------------------------------------


@get("/agency/year")
async def year_end(
    request: Request[Any, Any, Any], ctx: AppContext, officer: Principal, year: int | None = None
) -> Any:
    books = await service.books(ctx.clock)
    year = year or (books.settled_years[-1] if books.settled_years else local_today(ctx.clock).year - 1)
    statements, missing = None, None
    try:
        statements = await service.year_statements(year)
    except DomainError as err:
        missing = labels.words(err)
    return await desk_page(
        request,
        ctx,
        officer,
        "console/year.html",
        "year",
        year=year,
        books=books,
        statements=statements,
        missing=missing,
    )


@post("/agency/year/settle", status_code=200)
async def close_year(request: Request[Any, Any, Any], ctx: AppContext, officer: Principal) -> Any:
    form = await form_of(request)
    year = int(text(form, "year", 4)) if text(form, "year", 4).isdigit() else 0
    try:
        if text(form, "confirm", 5) != "1":
            raise DomainError("confirmation_required", "请勾选确认：年终清算后不能撤销", "Confirm the year close.")
        await service.close_year(ctx.clock, officer.actor, year)
    except DomainError as err:
        flash(request, f"{err.message_zh}（{err.code}）", "error")
        return redirect(f"{ROOT}/agency/year?year={year}" if year else f"{ROOT}/agency/year")
    flash(request, f"{year} 年度年终清算已完成")
    return redirect(f"{ROOT}/agency/year?year={year}")


@get("/agency/year/{year:int}/statements.csv")
async def year_csv(officer: Principal, year: int) -> Response[bytes]:
    books = await service.year_statements(year)
    sheet = Sheet("年终结算", export.YEAR_STATEMENT, books.items)
    return _download(export.to_csv(sheet), CSV_TYPE, f"capitation-{year}.csv")


@get("/agency/year/{year:int}/statements.xlsx")
async def year_xlsx(officer: Principal, year: int) -> Response[bytes]:
    books = await service.year_statements(year)
    sheet = Sheet("年终结算", export.YEAR_STATEMENT, books.items)
    return _download(export.to_xlsx(sheet), XLSX_TYPE, f"capitation-{year}.xlsx")


# ---- R14 reports, R15 indicators, R16 signals --------------------------------------------------------------------


@get("/agency/reports")
async def report_status(
    request: Request[Any, Any, Any], ctx: AppContext, officer: Principal, period: str | None = None
) -> Any:
    year, month = _period(period, _previous_month(local_today(ctx.clock)))
    report, missing = None, None
    try:
        report = await reports.report_status(ctx.clock, year, month, None)
    except DomainError as err:
        missing = labels.words(err)
    return await desk_page(
        request,
        ctx,
        officer,
        "console/reports.html",
        "reports",
        report=report,
        missing=missing,
        shown=f"{year:04d}-{month:02d}",
    )


@get("/agency/assessment")
async def assessment(
    request: Request[Any, Any, Any], ctx: AppContext, officer: Principal, year: int | None = None
) -> Any:
    year = year or local_today(ctx.clock).year
    data, missing = None, None
    try:
        data = await reports.assessment(ctx.clock, year, None)
    except DomainError as err:
        missing = labels.words(err)
    return await desk_page(
        request, ctx, officer, "console/assessment.html", "assessment", year=year, data=data, missing=missing
    )


@get("/agency/assessment/{year:int}/indicators.csv")
async def assessment_csv(ctx: AppContext, officer: Principal, year: int) -> Response[bytes]:
    data = await reports.assessment(ctx.clock, year, None)
    sheet = Sheet("年度考核指标", export.ASSESSMENT, data.items)
    return _download(export.to_csv(sheet), CSV_TYPE, f"assessment-{year}.csv")


@get("/agency/assessment/{year:int}/indicators.xlsx")
async def assessment_xlsx(ctx: AppContext, officer: Principal, year: int) -> Response[bytes]:
    data = await reports.assessment(ctx.clock, year, None)
    sheet = Sheet("年度考核指标", export.ASSESSMENT, data.items)
    return _download(export.to_xlsx(sheet), XLSX_TYPE, f"assessment-{year}.xlsx")


@get("/agency/signals")
async def signal_list(
    request: Request[Any, Any, Any],
    ctx: AppContext,
    officer: Principal,
    period: str | None = None,
    kind: str | None = None,
    reviewed: str | None = None,
) -> Any:
    year, month = _period(period, (local_today(ctx.clock).year, local_today(ctx.clock).month))
    kind = kind if kind in labels.SIGNALS else None
    seen = {"yes": True, "no": False}.get(reviewed or "")
    listing, missing = None, None
    try:
        listing = await signals.listing(ctx.clock, year, month, kind, None, seen, 200)  # type: ignore[arg-type]
    except DomainError as err:
        missing = labels.words(err)
    return await desk_page(
        request,
        ctx,
        officer,
        "console/signals.html",
        "signals",
        listing=listing,
        missing=missing,
        shown=f"{year:04d}-{month:02d}",
        kinds=labels.SIGNALS,
        filters={"kind": kind or "", "reviewed": reviewed or ""},
    )


@post("/agency/signals/review", status_code=200)
async def review_signal(request: Request[Any, Any, Any], ctx: AppContext, officer: Principal) -> Any:
    form = await form_of(request)
    key, note, back = text(form, "signal_key", 160), text(form, "note", 2000), text(form, "back", 300)
    try:
        if not note:
            raise DomainError("note_required", "请填写核查说明", "A note is required.")
        await signals.mark_reviewed(ctx.clock, officer, key, note)
    except DomainError as err:
        flash(request, f"{err.message_zh}（{err.code}）", "error")
    else:
        flash(request, "已标记为已核查")
    return redirect(back if back.startswith(f"{ROOT}/agency/signals") else f"{ROOT}/agency/signals")


# ---- the adjustment fund (调节金) and the quality guarantee by assessment (R13 interpretations) --------------------


def _fund_sheets(data: FundLedger) -> tuple[Sheet, Sheet]:
    return (
        Sheet("调节金台账", export.FUND_MOVEMENT, data.movements),
        Sheet("调节金账户", export.FUND_ACCOUNT, data.accounts),
    )


async def _fund_page(
    request: Request[Any, Any, Any], ctx: AppContext, officer: Principal, year: int, status: int = 200, **extra: Any
) -> Any:
    ledger, missing = None, None
    try:
        ledger = await service.ledger(year)
    except DomainError as err:
        missing = labels.words(err)
    institutions = (await service.quality_assessments(year)).items if ledger else []
    return await desk_page(
        request,
        ctx,
        officer,
        "console/fund.html",
        "fund",
        status=status,
        year=year,
        ledger=ledger,
        missing=missing,
        institutions=[i.institution for i in institutions],
        kinds=export.FUND_KINDS,
        form_key=new_key(),
        **extra,
    )


@get("/agency/fund")
async def fund_page(
    request: Request[Any, Any, Any], ctx: AppContext, officer: Principal, year: int | None = None
) -> Any:
    return await _fund_page(request, ctx, officer, year or local_today(ctx.clock).year)


@post("/agency/fund/allocate", status_code=200)
async def allocate(request: Request[Any, Any, Any], ctx: AppContext, officer: Principal) -> Any:
    """The officer's allocation, under the form's Idempotency-Key like the API's POST (a double submit pays once)."""
    form = await form_of(request)
    year = int(text(form, "year", 4)) if text(form, "year", 4).isdigit() else 0
    try:
        amount = yuan_to_fen(text(form, "amount", 16))
        institution, month = text(form, "institution_id", 12), text(form, "month", 2)
        if amount is None or amount <= 0:
            raise DomainError("amount_invalid", "请填写调节金额（元，最多两位小数）", "Enter an amount in yuan.")
        if not institution.isdigit() or not month.isdigit():
            raise DomainError("period_invalid", "请选择机构和月份", "Choose an institution and a month.")
        data = AllocationRequest(
            institution_id=int(institution),
            year=year,
            month=int(month),
            amount_fen=amount,
            reason=text(form, "reason", 2000) or "",
            rule=text(form, "rule", 64) or "第九条(二)2",
        )
        if not data.reason.strip():
            raise DomainError("reason_required", "请填写调节事由", "A reason is required.")
        moved = await once(
            ctx,
            officer,
            text(form, "key", 64),
            "/v1/agency/adjustment-fund/allocations",
            data,
            FundMovement,
            lambda lease: service.allocate(ctx.clock, officer, data, lease),
        )
    except (DomainError, msgspec.ValidationError) as err:
        flash(request, err.message_zh if isinstance(err, DomainError) else "填写的内容有误", "error")
        return redirect(f"{ROOT}/agency/fund?year={year}" if year else f"{ROOT}/agency/fund")
    flash(
        request,
        f"已向{moved.institution.name}拨付 {year} 年 {moved.month} 月调节金 {-moved.amount_fen / 100:.2f} 元，"
        f"余额 {moved.balance_fen / 100:.2f} 元",
    )
    return redirect(f"{ROOT}/agency/fund?year={year}")


@get("/agency/fund/{year:int}/ledger.csv")
async def fund_csv(officer: Principal, year: int) -> Response[bytes]:
    data = await service.ledger(year)
    return _download(export.to_csv(_fund_sheets(data)[0]), CSV_TYPE, f"adjustment-fund-{year}.csv")


@get("/agency/fund/{year:int}/ledger.xlsx")
async def fund_xlsx(officer: Principal, year: int) -> Response[bytes]:
    data = await service.ledger(year)
    return _download(export.to_xlsx(*_fund_sheets(data)), XLSX_TYPE, f"adjustment-fund-{year}.xlsx")


@get("/agency/quality")
async def quality_page(
    request: Request[Any, Any, Any], ctx: AppContext, officer: Principal, year: int | None = None
) -> Any:
    year = year or local_today(ctx.clock).year
    data, missing = None, None
    try:
        data = await service.quality_assessments(year)
    except DomainError as err:
        missing = labels.words(err)
    grades = service.policy_year(year).quality_grades if data else []
    return await desk_page(
        request, ctx, officer, "console/quality.html", "quality", year=year, data=data, missing=missing, grades=grades
    )


@post("/agency/quality/enter", status_code=200)
async def enter_quality(request: Request[Any, Any, Any], ctx: AppContext, officer: Principal) -> Any:
    form = await form_of(request)
    year = int(text(form, "year", 4)) if text(form, "year", 4).isdigit() else 0
    try:
        institution, score = text(form, "institution_id", 12), text(form, "score", 3)
        if not institution.isdigit() or not score.isdigit() or int(score) > 100:
            raise DomainError("score_invalid", "请选择机构并填写 0-100 的考核得分", "Choose an institution, 0-100.")
        done = await service.enter_quality_assessment(
            ctx.clock,
            officer,
            year,
            int(institution),
            QualityAssessmentRequest(score=int(score), note=text(form, "note", 2000) or ""),
        )
    except DomainError as err:
        flash(request, err.message_zh, "error")
        return redirect(f"{ROOT}/agency/quality?year={year}" if year else f"{ROOT}/agency/quality")
    released = f"质量保证金返还 {done.release_bp / 100:.0f}%"
    flash(request, f"{done.institution.name}：{done.score} 分，{done.grade}，{released}")
    return redirect(f"{ROOT}/agency/quality?year={year}")


@get("/agency/reports/{year:int}/{month:int}/{institution_id:int}")
async def report_detail(
    request: Request[Any, Any, Any], ctx: AppContext, officer: Principal, year: int, month: int, institution_id: int
) -> Any:
    """One unit's month for the officer: its report, what changed after it confirmed, its own submission."""
    report, submission, missing = None, None, None
    try:
        report = await service.facility_report(ctx.clock, year, month, institution_id)
        submission = await service.comparison(ctx.clock, year, month, institution_id)
    except DomainError as err:
        if report is None:
            missing = labels.words(err)
    return await desk_page(
        request,
        ctx,
        officer,
        "console/report_detail.html",
        "reports",
        report=report,
        submission=submission,
        missing=missing,
        figures=FIGURE_NAMES,
        shown=f"{year:04d}-{month:02d}",
    )


FIGURE_NAMES = {
    "visits": "就诊人次",
    "bill_total_fen": "医疗费用总额",
    "fund_fen": "统筹支付",
    "member_fen": "个人支付",
}
