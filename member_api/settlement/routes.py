"""/v1/counter: verify a member, quote, settle a visit, reverse a settlement (clerks of one facility)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.idempotency import run_idempotent
from member_api.core.openapi import problems
from member_api.core.principal import Principal
from member_api.core.types import PathId
from member_api.credential.identify import IDENTIFY_PROBLEMS
from member_api.settlement import reconciliation, service
from member_api.settlement.schemas import (
    QuoteResult,
    Reconciliation,
    ReversalRequest,
    SettlementRequest,
    SettlementResult,
    VerifyRequest,
    VerifyResult,
)

# For the OpenAPI document: what identifying the member and checking the visit can answer (R8, R10, R17), and what a
# settlement naming a quote adds.
VISIT_PROBLEMS = (
    *IDENTIFY_PROBLEMS,
    "credential_used",
    "no_policy_year",
    "visit_outside_policy_year",
    "referral_not_found",
)
QUOTE_PROBLEMS = ("quote_expired", "quote_invalid", "quote_mismatch")


class CounterController(Controller):
    path = "/v1/counter"
    tags = ["counter"]
    security = [{"bearer": []}]

    @post(
        "/verify",
        status_code=HTTP_200_OK,
        operation_id="verifyMember",
        summary="Identify a member by e-credential or ID number (R8)",
        opt=problems(*IDENTIFY_PROBLEMS, "credential_used"),
    )
    async def verify(self, data: VerifyRequest, ctx: AppContext, clerk: Principal) -> VerifyResult:
        return await service.verify(ctx, clerk, data)

    @post(
        "/quotes",
        status_code=HTTP_200_OK,
        operation_id="quoteVisit",
        summary="Pre-settle a visit: fund and member shares, reasons, caps left; writes nothing",
        description="Takes the body of a settlement. Nothing is stored and the e-credential is not used up; "
        "the quote id is valid for `MEMBER_API_QUOTE_TTL_S` seconds (300 by default) and may be named by "
        "`POST /v1/counter/settlements` as `quote_id`. If the member's account moved in between, the settlement "
        "answers with the new figures and `changed_since_quote: true`.",
        cache_control=CacheControlHeader(no_store=True),
        opt=problems(*VISIT_PROBLEMS),
    )
    async def quote(self, data: SettlementRequest, ctx: AppContext, clerk: Principal) -> QuoteResult:
        return await service.quote(ctx, clerk, data)

    @post(
        "/settlements",
        status_code=HTTP_201_CREATED,
        operation_id="settleVisit",
        summary="Settle a visit at the clerk's facility",
        response_description="The settlement with the fund's and member's shares",
        opt=problems(*VISIT_PROBLEMS, *QUOTE_PROBLEMS, idempotent=True),
    )
    async def settle(
        self, data: SettlementRequest, request: Request, ctx: AppContext, clerk: Principal
    ) -> Response[SettlementResult]:
        return await run_idempotent(
            request, ctx, f"staff:{clerk.staff_id}", lambda lease: service.settle(ctx, clerk, data, lease)
        )  # type: ignore[return-value]

    @post(
        "/settlements/{settlement_id:int}/reversal",
        status_code=HTTP_201_CREATED,
        operation_id="reverseSettlement",
        summary="Reverse a settlement of this facility (restores the cap; both records stay)",
        opt=problems("already_reversed", "reversal_outside_policy_year", idempotent=True),
    )
    async def reverse(
        self, settlement_id: PathId, data: ReversalRequest, request: Request, ctx: AppContext, clerk: Principal
    ) -> Response[SettlementResult]:
        return await run_idempotent(
            request,
            ctx,
            f"staff:{clerk.staff_id}",
            lambda lease: service.reverse(ctx, clerk, settlement_id, data.reason, lease),
        )  # type: ignore[return-value]


def _day(value: date | None, ctx: AppContext) -> date:
    """The day asked for, else yesterday (local): the day a clinic closes its cash book against."""
    return value or local_today(ctx.clock) - timedelta(days=1)


class ReconciliationController(Controller):
    """#32 item 4: a facility's daily reconciliation for its clerks (the facility system asks by 3201/3202)."""

    path = "/v1/counter/reconciliation"
    tags = ["counter"]
    security = [{"bearer": []}]

    @get(
        "/",
        operation_id="dailyReconciliation",
        summary="The facility's counter day: counts and sums by kind and fund type, with every settlement",
        description="`date` (local, Asia/Shanghai; yesterday by default) to `date_to` (inclusive, at most 31 days). "
        "A reversal counts on the day it was made, with negative amounts. The same figures answer the facility "
        "interface's 3201/3202.",
        cache_control=CacheControlHeader(no_store=True),
        opt=problems("date_range_invalid"),
    )
    async def day(
        self,
        ctx: AppContext,
        clerk: Principal,
        date_: Annotated[date | None, Parameter(query="date")] = None,
        date_to: date | None = None,
    ) -> Reconciliation:
        assert clerk.facility_id is not None
        start = _day(date_, ctx)
        return await reconciliation.reconcile(clerk.facility_id, start, date_to)

    @get(
        "/csv",
        operation_id="dailyReconciliationCsv",
        summary="The daily reconciliation as CSV (UTF-8 with BOM): one line per settlement, then the totals",
        media_type="text/csv; charset=utf-8",
        cache_control=CacheControlHeader(no_store=True),
        opt=problems("date_range_invalid"),
    )
    async def day_csv(
        self,
        ctx: AppContext,
        clerk: Principal,
        date_: Annotated[date | None, Parameter(query="date")] = None,
        date_to: date | None = None,
    ) -> Response[bytes]:
        assert clerk.facility_id is not None
        start = _day(date_, ctx)
        report = await reconciliation.reconcile(clerk.facility_id, start, date_to)
        name = f"reconciliation-{start.isoformat()}.csv"
        return Response(
            reconciliation.as_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
