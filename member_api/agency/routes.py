"""/v1/agency: capitation books and statements (R13), facility reports (R14), assessment (R15), signals and
review samples (R16). Officers see every facility; a clerk sees and confirms only their own unit's report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import CacheControlHeader
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from member_api.agency import export, fund, quality, reports, service, signals
from member_api.agency.export import CSV_TYPE, XLSX_TYPE, Sheet
from member_api.agency.schemas import (
    AllocationRequest,
    Assessment,
    CapitationBooks,
    FacilityReport,
    FundLedger,
    FundMovement,
    MonthStatements,
    QualityAssessmentList,
    QualityAssessmentRequest,
    QualityAssessmentView,
    ReportStatusList,
    ReviewSampleView,
    SampleCheck,
    SampleRequest,
    Signal,
    SignalKind,
    SignalList,
    SignalReviewRequest,
    StationLine,
    Submission,
    SubmissionRequest,
    YearStatements,
)
from member_api.core.context import AppContext
from member_api.core.idempotency import run_idempotent
from member_api.core.openapi import problems
from member_api.core.principal import Principal
from member_api.core.types import PathId, QueryId

Year = Annotated[int, Parameter(ge=2000, le=2100, description="policy year")]
Month = Annotated[int, Parameter(ge=1, le=12, description="calendar month")]
NO_STORE = {"Cache-Control": "private, no-store"}
PRIVATE = CacheControlHeader(private=True, no_store=True)
# What a period can answer: a year without policy parameters, a month that has not ended or begun.
PERIOD = ("no_policy_year", "month_not_ended")


@dataclass
class CsvBodyOperation(Operation):
    """An operation whose body is a CSV file read raw (litestar would decode a ``bytes`` body as JSON)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))},
            description="The unit's statistics as CSV (UTF-8 or GB18030), one line per facility.",
            required=True,
        )


def _csv(sheet: Sheet, filename: str) -> Response[bytes]:
    return Response(export.to_csv(sheet), media_type=CSV_TYPE, headers=export.attachment(filename))


def _xlsx(filename: str, *sheets: Sheet) -> Response[bytes]:
    return Response(export.to_xlsx(*sheets), media_type=XLSX_TYPE, headers=export.attachment(filename))


def _month_sheets(books: MonthStatements) -> tuple[Sheet, Sheet]:
    lines = [(item, line) for item in books.items for line in item.adjustments]
    return (
        Sheet("月结算单", export.MONTH_STATEMENT, books.items),
        Sheet("调整明细", export.ADJUSTMENT, lines),
    )


class AgencyCapitationController(Controller):
    path = "/v1/agency/capitation"
    tags = ["agency"]
    security = [{"bearer": []}]

    @get("", operation_id="listCapitationBooks", summary="Closed months, settled years and the next month to close")
    async def books(self, ctx: AppContext, officer: Principal) -> CapitationBooks:
        return await service.books(ctx.clock)

    @post(
        "/{year:int}/{month:int}/close",
        status_code=HTTP_200_OK,
        operation_id="closeCapitationMonth",
        summary="Close a month's capitation books (R13.2-3) once; a replay returns the same statements",
        opt=problems(*PERIOD, "month_out_of_order"),
    )
    async def close(self, year: Year, month: Month, ctx: AppContext, officer: Principal) -> MonthStatements:
        return await service.close_month(ctx.clock, officer.actor, year, month)

    @get(
        "/{year:int}/{month:int}/statements",
        operation_id="getCapitationMonthStatements",
        summary="A closed month's statement per institution (fen); one institution's with its adjustment movements",
        opt=problems("month_not_closed"),
    )
    async def month(
        self, year: Year, month: Month, officer: Principal, institution_id: QueryId = None
    ) -> MonthStatements:
        return await service.month_statements(year, month, institution_id)

    @get(
        "/{year:int}/{month:int}/statements.csv",
        operation_id="downloadCapitationMonthStatementsCsv",
        summary="A closed month's statements as CSV (UTF-8 with BOM, yuan)",
        media_type=CSV_TYPE,
        opt=problems("month_not_closed"),
    )
    async def month_csv(
        self, year: Year, month: Month, officer: Principal, institution_id: QueryId = None
    ) -> Response[bytes]:
        books = await service.month_statements(year, month, institution_id)
        return _csv(_month_sheets(books)[0], f"capitation-{year}-{month:02d}.csv")

    @get(
        "/{year:int}/{month:int}/statements.xlsx",
        operation_id="downloadCapitationMonthStatementsXlsx",
        summary="A closed month's statements and adjustment lines as XLSX (yuan)",
        media_type=XLSX_TYPE,
        opt=problems("month_not_closed"),
    )
    async def month_xlsx(
        self, year: Year, month: Month, officer: Principal, institution_id: QueryId = None
    ) -> Response[bytes]:
        books = await service.month_statements(year, month, institution_id)
        return _xlsx(f"capitation-{year}-{month:02d}.xlsx", *_month_sheets(books))

    @post(
        "/{year:int}/settle",
        status_code=HTTP_200_OK,
        operation_id="settleCapitationYear",
        summary="Year-end settlement (R13.4-5) once, after January of the next year is closed",
        opt=problems("no_policy_year", "december_not_cleared"),
    )
    async def settle(self, year: Year, ctx: AppContext, officer: Principal) -> YearStatements:
        return await service.close_year(ctx.clock, officer.actor, year)

    @get(
        "/{year:int}/statements",
        operation_id="getCapitationYearStatements",
        summary="A settled year per institution",
        opt=problems("year_not_settled"),
    )
    async def year(self, year: Year, officer: Principal, institution_id: QueryId = None) -> YearStatements:
        return await service.year_statements(year, institution_id)

    @get(
        "/{year:int}/statements.csv",
        operation_id="downloadCapitationYearStatementsCsv",
        summary="A settled year as CSV (UTF-8 with BOM, yuan)",
        media_type=CSV_TYPE,
        opt=problems("year_not_settled"),
    )
    async def year_csv(self, year: Year, officer: Principal, institution_id: QueryId = None) -> Response[bytes]:
        books = await service.year_statements(year, institution_id)
        return _csv(Sheet("年终结算", export.YEAR_STATEMENT, books.items), f"capitation-{year}.csv")

    @get(
        "/{year:int}/statements.xlsx",
        operation_id="downloadCapitationYearStatementsXlsx",
        summary="A settled year as XLSX (yuan)",
        media_type=XLSX_TYPE,
        opt=problems("year_not_settled"),
    )
    async def year_xlsx(self, year: Year, officer: Principal, institution_id: QueryId = None) -> Response[bytes]:
        books = await service.year_statements(year, institution_id)
        return _xlsx(f"capitation-{year}.xlsx", Sheet("年终结算", export.YEAR_STATEMENT, books.items))


def _report_sheets(report: FacilityReport) -> tuple[Sheet, Sheet]:
    total = StationLine(
        facility_id=report.institution.id,
        facility_code="合计",
        facility_name=report.institution.name,
        kind="",
        tier="",
        **{k: getattr(report.totals, k) for k in report.totals.__struct_fields__},
    )
    return (
        Sheet("按机构", export.REPORT_BY_STATION, [*report.by_station, total]),
        Sheet("按级别", export.REPORT_BY_TIER, report.by_tier),
    )


class AgencyReportsController(Controller):
    path = "/v1/agency/reports"
    tags = ["agency"]
    security = [{"bearer": []}]

    @get(
        "/{year:int}/{month:int}",
        operation_id="listFacilityReports",
        cache_control=PRIVATE,
        summary="R14: every unit's report of the month, confirmed or not (confirmed=false: who has not)",
        opt=problems(*PERIOD),
    )
    async def status(
        self, year: Year, month: Month, ctx: AppContext, officer: Principal, confirmed: bool | None = None
    ) -> ReportStatusList:
        return await reports.report_status(ctx.clock, year, month, confirmed)

    @get(
        "/{year:int}/{month:int}/institutions/{institution_id:int}",
        operation_id="getFacilityReport",
        summary="R14: a unit's settled visits of the month by tier and by station (officer, or the unit's clerk)",
        opt=problems(*PERIOD, "forbidden"),
    )
    async def one(
        self, year: Year, month: Month, institution_id: PathId, ctx: AppContext, principal: Principal
    ) -> Response[FacilityReport]:
        await reports.caller_unit(principal, institution_id)
        return Response(await reports.facility_report(ctx.clock, year, month, institution_id), headers=NO_STORE)

    @get(
        "/{year:int}/{month:int}/institutions/{institution_id:int}/report.csv",
        operation_id="downloadFacilityReportCsv",
        summary="R14 report as CSV (UTF-8 with BOM, yuan), by station with a total line",
        media_type=CSV_TYPE,
        opt=problems(*PERIOD, "forbidden"),
    )
    async def one_csv(
        self, year: Year, month: Month, institution_id: PathId, ctx: AppContext, principal: Principal
    ) -> Response[bytes]:
        await reports.caller_unit(principal, institution_id)
        report = await reports.facility_report(ctx.clock, year, month, institution_id)
        return _csv(_report_sheets(report)[0], f"report-{report.institution.code}-{year}-{month:02d}.csv")

    @get(
        "/{year:int}/{month:int}/institutions/{institution_id:int}/report.xlsx",
        operation_id="downloadFacilityReportXlsx",
        summary="R14 report as XLSX (yuan): by station, by tier",
        media_type=XLSX_TYPE,
        opt=problems(*PERIOD, "forbidden"),
    )
    async def one_xlsx(
        self, year: Year, month: Month, institution_id: PathId, ctx: AppContext, principal: Principal
    ) -> Response[bytes]:
        await reports.caller_unit(principal, institution_id)
        report = await reports.facility_report(ctx.clock, year, month, institution_id)
        return _xlsx(f"report-{report.institution.code}-{year}-{month:02d}.xlsx", *_report_sheets(report))

    @post(
        "/{year:int}/{month:int}/submissions",
        status_code=HTTP_201_CREATED,
        operation_id="submitFacilityStatistics",
        summary="R14: the clerk's unit submits its own statistics of the month (one line per facility); the answer "
        "compares them with the system's figures line by line",
        opt=problems(*PERIOD, "submission_invalid", idempotent=True),
    )
    async def submit(
        self, year: Year, month: Month, data: SubmissionRequest, request: Request, ctx: AppContext, clerk: Principal
    ) -> Response[Submission]:
        return await run_idempotent(  # type: ignore[return-value]
            request,
            ctx,
            f"staff:{clerk.staff_id}",
            lambda _: reports.submit(ctx.clock, clerk, year, month, data.lines, "api"),
            completes_itself=False,
        )

    @post(
        "/{year:int}/{month:int}/submissions.csv",
        status_code=HTTP_201_CREATED,
        operation_id="uploadFacilityStatistics",
        summary="R14: the same as a CSV upload with the headings of the report's download (机构编码, 就诊人次, "
        "医疗费用总额(元), 统筹支付(元), 个人支付(元)); UTF-8 or GB18030",
        opt=problems(*PERIOD, "submission_invalid", "submission_file_invalid", idempotent=True),
        operation_class=CsvBodyOperation,
    )
    async def upload(
        self, year: Year, month: Month, request: Request, ctx: AppContext, clerk: Principal
    ) -> Response[Submission]:
        lines = reports.parse_upload(await request.body())
        return await run_idempotent(  # type: ignore[return-value]
            request,
            ctx,
            f"staff:{clerk.staff_id}",
            lambda _: reports.submit(ctx.clock, clerk, year, month, lines, "upload"),
            completes_itself=False,
        )

    @get(
        "/{year:int}/{month:int}/institutions/{institution_id:int}/submission",
        operation_id="getFacilitySubmissionComparison",
        summary="R14: the unit's latest submission against the system's figures, differences line by line "
        "(officer, or the unit's clerk)",
        opt=problems(*PERIOD, "forbidden", "submission_not_found"),
    )
    async def comparison(
        self, year: Year, month: Month, institution_id: PathId, ctx: AppContext, principal: Principal
    ) -> Response[Submission]:
        await reports.caller_unit(principal, institution_id)
        return Response(await reports.comparison(ctx.clock, year, month, institution_id), headers=NO_STORE)

    @post(
        "/{year:int}/{month:int}/confirm",
        status_code=HTTP_200_OK,
        operation_id="confirmFacilityReport",
        summary="R14: the clerk confirms their unit's report of the month (by the 5th; later is recorded as late)",
        opt=problems(*PERIOD),
    )
    async def confirm(self, year: Year, month: Month, ctx: AppContext, clerk: Principal) -> FacilityReport:
        return await reports.confirm(ctx.clock, clerk, year, month)


class AgencyAssessmentController(Controller):
    path = "/v1/agency/assessment"
    tags = ["agency"]
    security = [{"bearer": []}]

    @get(
        "/{year:int}",
        operation_id="getAssessment",
        summary="R15 indicators per primary institution",
        opt=problems(*PERIOD),
    )
    async def one(self, year: Year, ctx: AppContext, officer: Principal, institution_id: QueryId = None) -> Assessment:
        return await reports.assessment(ctx.clock, year, institution_id)

    @get(
        "/{year:int}/indicators.csv",
        operation_id="downloadAssessmentCsv",
        summary="R15 indicators as CSV (UTF-8 with BOM; yuan, percent)",
        media_type=CSV_TYPE,
        opt=problems(*PERIOD),
    )
    async def one_csv(
        self, year: Year, ctx: AppContext, officer: Principal, institution_id: QueryId = None
    ) -> Response[bytes]:
        data = await reports.assessment(ctx.clock, year, institution_id)
        return _csv(Sheet("年度考核指标", export.ASSESSMENT, data.items), f"assessment-{year}.csv")

    @get(
        "/{year:int}/indicators.xlsx",
        operation_id="downloadAssessmentXlsx",
        summary="R15 indicators as XLSX (yuan, percent)",
        media_type=XLSX_TYPE,
        opt=problems(*PERIOD),
    )
    async def one_xlsx(
        self, year: Year, ctx: AppContext, officer: Principal, institution_id: QueryId = None
    ) -> Response[bytes]:
        data = await reports.assessment(ctx.clock, year, institution_id)
        return _xlsx(f"assessment-{year}.xlsx", Sheet("年度考核指标", export.ASSESSMENT, data.items))


class AgencySignalsController(Controller):
    path = "/v1/agency"
    tags = ["agency"]
    security = [{"bearer": []}]

    @get(
        "/signals",
        operation_id="listAbuseSignals",
        summary="R16 signals of a month with counts per kind",
        cache_control=PRIVATE,
        opt=problems(*PERIOD),
    )
    async def list_signals(
        self,
        ctx: AppContext,
        officer: Principal,
        year: Year,
        month: Month,
        kind: SignalKind | None = None,
        institution_id: QueryId = None,
        reviewed: bool | None = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 200,
    ) -> SignalList:
        return await signals.listing(ctx.clock, year, month, kind, institution_id, reviewed, limit)

    @post(
        "/signals/reviews",
        status_code=HTTP_201_CREATED,
        operation_id="reviewAbuseSignal",
        summary="Mark a signal reviewed with a note (once; audited)",
        opt=problems("no_policy_year", "signal_not_found", "signal_already_reviewed"),
    )
    async def review(self, data: SignalReviewRequest, ctx: AppContext, officer: Principal) -> Signal:
        return await signals.mark_reviewed(ctx.clock, officer, data.signal_key, data.note)  # type: ignore[no-any-return]

    @post(
        "/samples/{year:int}/{month:int}",
        status_code=HTTP_200_OK,
        operation_id="drawReviewSample",
        summary="Draw the month's seeded review sample of settlements and claims (once; a replay returns it)",
        opt=problems(*PERIOD),
    )
    async def draw(
        self, year: Year, month: Month, ctx: AppContext, officer: Principal, data: SampleRequest | None = None
    ) -> ReviewSampleView:
        return await signals.draw_sample(ctx.clock, officer.actor, year, month, data.seed if data else None)

    @get(
        "/samples/{year:int}/{month:int}",
        operation_id="getReviewSample",
        summary="The month's review sample",
        cache_control=PRIVATE,
        opt=problems("sample_not_drawn"),
    )
    async def get_sample(self, year: Year, month: Month, officer: Principal) -> ReviewSampleView:
        return await signals.sample(year, month)

    @get(
        "/samples/{year:int}/{month:int}/check",
        operation_id="checkReviewSample",
        summary="Draw again with the stored seed and watermarks: is the stored sample reproduced?",
        opt=problems("sample_not_drawn"),
    )
    async def check(self, year: Year, month: Month, officer: Principal) -> SampleCheck:
        return await signals.check_sample(year, month)


def _fund_sheets(data: FundLedger) -> tuple[Sheet, Sheet]:
    return (
        Sheet("调节金台账", export.FUND_MOVEMENT, data.movements),
        Sheet("调节金账户", export.FUND_ACCOUNT, data.accounts),
    )


class AgencyFundController(Controller):
    """The 15% adjustment fund (调节金) as a ledger per institution and year (R13.2 interpretation)."""

    path = "/v1/agency/adjustment-fund"
    tags = ["agency"]
    security = [{"bearer": []}]

    @get(
        "/{year:int}",
        operation_id="getAdjustmentFundLedger",
        summary="The year's adjustment fund: accounts (accrued, allocated, settled, balance) and every movement",
        opt=problems("no_policy_year"),
    )
    async def one(self, year: Year, officer: Principal, institution_id: QueryId = None) -> FundLedger:
        return await fund.ledger(year, institution_id)

    @get(
        "/{year:int}/ledger.csv",
        operation_id="downloadAdjustmentFundLedgerCsv",
        summary="The year's adjustment fund movements as CSV (UTF-8 with BOM, yuan)",
        media_type=CSV_TYPE,
        opt=problems("no_policy_year"),
    )
    async def one_csv(self, year: Year, officer: Principal, institution_id: QueryId = None) -> Response[bytes]:
        data = await fund.ledger(year, institution_id)
        return _csv(_fund_sheets(data)[0], f"adjustment-fund-{year}.csv")

    @get(
        "/{year:int}/ledger.xlsx",
        operation_id="downloadAdjustmentFundLedgerXlsx",
        summary="The year's adjustment fund as XLSX (yuan): movements, accounts",
        media_type=XLSX_TYPE,
        opt=problems("no_policy_year"),
    )
    async def one_xlsx(self, year: Year, officer: Principal, institution_id: QueryId = None) -> Response[bytes]:
        data = await fund.ledger(year, institution_id)
        return _xlsx(f"adjustment-fund-{year}.xlsx", *_fund_sheets(data))

    @post(
        "/allocations",
        status_code=HTTP_201_CREATED,
        operation_id="allocateAdjustmentFund",
        summary="Allocate from an institution's adjustment fund to a cleared month whose actual exceeded its "
        "prepayment (with a reason and the rule cited); audited; the balance never goes negative",
        opt=problems(
            "no_policy_year",
            "not_found",
            "year_already_settled",
            "month_not_cleared",
            "allocation_exceeds_overspend",
            "adjustment_fund_insufficient",
            idempotent=True,
        ),
    )
    async def allocate(
        self, data: AllocationRequest, request: Request, ctx: AppContext, officer: Principal
    ) -> Response[FundMovement]:
        return await run_idempotent(  # type: ignore[return-value]
            request, ctx, f"staff:{officer.staff_id}", lambda lease: fund.allocate(ctx.clock, officer, data, lease)
        )


class AgencyQualityController(Controller):
    """The 5% quality guarantee by assessment (R13.4): the officer's score per institution and year."""

    path = "/v1/agency/quality"
    tags = ["agency"]
    security = [{"bearer": []}]

    @get(
        "/{year:int}",
        operation_id="listQualityAssessments",
        summary="Every primary institution's year-end assessment: score, grade, release share of the guarantee",
        opt=problems("no_policy_year"),
    )
    async def list_all(self, year: Year, officer: Principal) -> QualityAssessmentList:
        return await quality.assessments(year)

    @put(
        "/{year:int}/institutions/{institution_id:int}",
        operation_id="enterQualityAssessment",
        summary="Enter (or correct, until the year is settled) an institution's assessment score; audited",
        opt=problems("no_policy_year", "not_found", "year_already_settled"),
    )
    async def enter(
        self,
        year: Year,
        institution_id: PathId,
        data: QualityAssessmentRequest,
        ctx: AppContext,
        officer: Principal,
    ) -> QualityAssessmentView:
        return await quality.enter(ctx.clock, officer, year, institution_id, data)
