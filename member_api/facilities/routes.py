"""/v1/facilities, /v1/me/designation and /v1/review/change-requests."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from member_api.core.context import AppContext
from member_api.core.openapi import UPLOAD_PROBLEMS, problems
from member_api.core.principal import MemberCaller, Principal
from member_api.core.types import Cursor, Near, PathId, QueryId
from member_api.core.uploads import check_files
from member_api.facilities import catalogue, designation
from member_api.facilities.designation import PAIR_PROBLEMS
from member_api.facilities.schemas import (
    ChangeRequestForm,
    ChangeRequestView,
    CurrentDesignation,
    DecisionRequest,
    DesignationRequest,
    DesignationView,
    FacilityDetail,
    FacilityPage,
)

YearParam = Annotated[int | None, Parameter(query="year", ge=2000, le=2100)]
Limit = Annotated[int, Parameter(ge=1, le=100)]
UPLOAD_LIMIT = 6 * 5 * 1_048_576


class FacilitiesController(Controller):
    path = "/v1/facilities"
    tags = ["facilities"]

    @get(
        "",
        operation_id="searchFacilities",
        summary="Search active facilities (division, kind, tier, text, distance)",
    )
    async def search(
        self,
        division: str | None = None,
        kind: str | None = None,
        tier: str | None = None,
        q: Annotated[str | None, Parameter(max_length=50)] = None,
        near: Near = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> FacilityPage:
        return await catalogue.search(
            division=division, kind=kind, tier=tier, q=q, near=near, cursor=cursor, limit=limit
        )

    @get("/{facility_id:int}", operation_id="getFacility", summary="A facility with the village stations it runs")
    async def detail(self, facility_id: PathId) -> FacilityDetail:
        return await catalogue.detail(facility_id)


class DesignationController(Controller):
    path = "/v1/me/designation"
    tags = ["designation"]
    security = [{"bearer": []}]

    @get("", operation_id="getDesignation", summary="The designated pair in force (this year by default)")
    async def current(
        self, ctx: AppContext, caller: MemberCaller, subject_member_id: int, year: YearParam = None
    ) -> CurrentDesignation:
        return await designation.current(ctx, subject_member_id, year)

    @put(
        "",
        operation_id="chooseDesignation",
        summary="Choose the designated pair: first choice of the year, effective at once",
        opt=problems(**PAIR_PROBLEMS, change_request_required=409),
    )
    async def choose(
        self, data: DesignationRequest, ctx: AppContext, caller: MemberCaller, subject_member_id: int
    ) -> CurrentDesignation:
        return await designation.choose(ctx, caller.principal, subject_member_id, data.institution_id, data.station_id)

    @get("/history", operation_id="listDesignationHistory", summary="Every designation period, newest first")
    async def history(self, caller: MemberCaller, subject_member_id: int) -> list[DesignationView]:
        return await designation.history(subject_member_id)

    @post(
        "/change-requests",
        status_code=HTTP_201_CREATED,
        request_max_body_size=UPLOAD_LIMIT,
        operation_id="requestDesignationChange",
        summary="Ask to change the pair within the year, with evidence files",
        opt=problems(
            **UPLOAD_PROBLEMS, **PAIR_PROBLEMS, no_designation=409, same_designation=409, change_request_open=409
        ),
    )
    async def submit(
        self,
        data: Annotated[ChangeRequestForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        ctx: AppContext,
        caller: MemberCaller,
        subject_member_id: int,
    ) -> ChangeRequestView:
        uploads = data.evidence if isinstance(data.evidence, list) else [data.evidence]
        files = check_files(ctx.settings, [(u.filename or "", await u.read()) for u in uploads], "evidence")
        return await designation.submit_change_request(
            ctx,
            caller.principal,
            subject_member_id,
            data.institution_id,
            data.station_id,
            data.reason,
            data.reason_text,
            files,
        )

    @get("/change-requests", operation_id="listChangeRequests", summary="The member's change requests and their status")
    async def requests(self, caller: MemberCaller, subject_member_id: int) -> list[ChangeRequestView]:
        return await designation.member_requests(subject_member_id)

    @post(
        "/change-requests/{request_id:int}/withdraw",
        status_code=HTTP_200_OK,
        operation_id="withdrawChangeRequest",
        summary="Withdraw an open change request",
        opt=problems(change_request_closed=409),
    )
    async def withdraw(
        self, request_id: PathId, ctx: AppContext, caller: MemberCaller, subject_member_id: int
    ) -> ChangeRequestView:
        return await designation.withdraw(ctx, caller.principal, subject_member_id, request_id)


class ReviewChangeRequestsController(Controller):
    path = "/v1/review/change-requests"
    tags = ["review"]
    security = [{"bearer": []}]

    @get(
        "",
        operation_id="listChangeRequestsForReview",
        summary="Change requests to review (reviewers: all; clerks: their facility's members)",
    )
    async def list_requests(
        self,
        staff: Principal,
        status: str | None = None,
        division: str | None = None,
        limit: Limit = 50,
        before_id: QueryId = None,
    ) -> list[ChangeRequestView]:
        return await designation.review_list(staff, status, division, limit, before_id)

    @post(
        "/{request_id:int}/decision",
        status_code=HTTP_200_OK,
        operation_id="decideChangeRequest",
        summary="Approve or reject a change request",
        opt=problems(change_request_closed=409),
    )
    async def decide(
        self, request_id: PathId, data: DecisionRequest, ctx: AppContext, staff: Principal
    ) -> ChangeRequestView:
        return await designation.decide(ctx, staff, request_id, data.decision == "approve", data.comment)
