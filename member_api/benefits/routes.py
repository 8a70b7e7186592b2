"""/v1/me/benefits and /v1/me/settlements: remaining cap and reimbursement history."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import Parameter

from member_api.benefits import service
from member_api.benefits.schemas import Benefits, SettlementPage, Summary
from member_api.core.context import AppContext
from member_api.core.openapi import problems
from member_api.core.principal import MemberCaller
from member_api.core.types import Cursor, PathId, QueryId
from member_api.settlement.schemas import SettlementView

YearParam = Annotated[int | None, Parameter(query="year", ge=2000, le=2100)]


class BenefitsController(Controller):
    path = "/v1/me"
    tags = ["benefits"]
    security = [{"bearer": []}]

    @get(
        "/benefits",
        operation_id="getBenefits",
        summary="Annual cap, used and remaining (and the out-of-city sub-cap)",
        opt=problems("no_policy_year", "not_enrolled"),
    )
    async def benefits(
        self, ctx: AppContext, caller: MemberCaller, subject_member_id: int, year: YearParam = None
    ) -> Benefits:
        return await service.benefits(ctx, subject_member_id, year)

    @get(
        "/benefits/summary",
        operation_id="getBenefitsSummary",
        summary="Totals by month and by facility",
        opt=problems("no_policy_year"),
    )
    async def summary(
        self, ctx: AppContext, caller: MemberCaller, subject_member_id: int, year: YearParam = None
    ) -> Summary:
        return await service.summary(ctx, subject_member_id, year)

    @get(
        "/settlements",
        operation_id="listSettlements",
        summary="Every fund movement, newest first (cursor pages)",
    )
    async def settlements(
        self,
        caller: MemberCaller,
        subject_member_id: int,
        year: YearParam = None,
        kind: Literal["counter", "reversal", "claim_payout"] | None = None,
        facility_id: QueryId = None,
        cursor: Cursor = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> SettlementPage:
        return await service.history(subject_member_id, year, kind, facility_id, cursor, limit)

    @get(
        "/settlements/{settlement_id:int}",
        operation_id="getSettlement",
        summary="One fund movement with its line breakdown",
    )
    async def settlement(self, settlement_id: PathId, caller: MemberCaller, subject_member_id: int) -> SettlementView:
        return await service.one(subject_member_id, settlement_id)
