"""/v1/counter: verify a member, quote, settle a visit, reverse a settlement (clerks of one facility)."""

from __future__ import annotations

from litestar import Controller, Request, Response, post
from litestar.datastructures import CacheControlHeader
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from member_api.core.context import AppContext
from member_api.core.idempotency import run_idempotent
from member_api.core.openapi import problems
from member_api.core.principal import Principal
from member_api.core.types import PathId
from member_api.credential.identify import IDENTIFY_PROBLEMS
from member_api.settlement import service
from member_api.settlement.schemas import (
    QuoteResult,
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
