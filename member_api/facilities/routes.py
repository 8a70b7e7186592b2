"""/v1/facilities, /v1/me/designation, /v1/review/change-requests and the clerk-assisted /v1/counter routes."""

from __future__ import annotations

import hashlib
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import CacheControlHeader
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from member_api.core.context import AppContext
from member_api.core.idempotency import run_idempotent
from member_api.core.openapi import problems
from member_api.core.principal import MemberCaller, Principal
from member_api.core.types import Cursor, Near, PathId, QueryId
from member_api.core.uploads import check_files, check_uploads
from member_api.facilities import designation
from member_api.facilities import search as facility_search
from member_api.facilities.designation import COUNTER_PROBLEMS, PAIR_PROBLEMS
from member_api.facilities.schemas import (
    ChangeRequestForm,
    ChangeRequestView,
    CounterChangeRequestForm,
    CounterDesignationRequest,
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
        return await facility_search.search(
            division=division, kind=kind, tier=tier, q=q, near=near, cursor=cursor, limit=limit
        )

    @get("/{facility_id:int}", operation_id="getFacility", summary="A facility with the village stations it runs")
    async def detail(self, facility_id: PathId) -> FacilityDetail:
        return await facility_search.detail(facility_id)


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
        opt=problems(*PAIR_PROBLEMS, "change_request_required"),
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
        opt=problems(*PAIR_PROBLEMS, "no_designation", "same_designation", "change_request_open"),
    )
    async def submit(
        self,
        data: Annotated[ChangeRequestForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        ctx: AppContext,
        caller: MemberCaller,
        subject_member_id: int,
    ) -> ChangeRequestView:
        files = await check_uploads(ctx.settings, data.evidence, "evidence")
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
        opt=problems("change_request_closed"),
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
        opt=problems("change_request_closed"),
    )
    async def decide(
        self, request_id: PathId, data: DecisionRequest, ctx: AppContext, staff: Principal
    ) -> ChangeRequestView:
        return await designation.decide(ctx, staff, request_id, data.decision == "approve", data.comment)


class CounterDesignationController(Controller):
    """R2 for residents without a smartphone: a clerk of a primary institution acts after checking the ID card."""

    path = "/v1/counter"
    tags = ["counter"]
    security = [{"bearer": []}]

    @post(
        "/designations",
        status_code=HTTP_201_CREATED,
        operation_id="recordDesignationForMember",
        summary="Record a resident's first designation of the year at this institution (clerk, ID card checked)",
        description="The pair is the clerk's own institution and, unless it is a school clinic, one of its village "
        "stations. The same rules as `PUT /v1/me/designation` apply (R1 paid up, first choice of the year). "
        "Audited with the clerk; the resident's history shows `made_by` with this facility. Needs an "
        "`Idempotency-Key`.",
        cache_control=CacheControlHeader(no_store=True),
        opt=problems(*COUNTER_PROBLEMS, *PAIR_PROBLEMS, "change_request_required"),
    )
    async def record(
        self, data: CounterDesignationRequest, request: Request, ctx: AppContext, clerk: Principal
    ) -> Response[CurrentDesignation]:
        return await run_idempotent(  # type: ignore[return-value]
            request,
            ctx,
            f"staff:{clerk.staff_id}",
            lambda _: designation.record_for_member(ctx, clerk, data.id_number, data.station_id),
            completes_itself=False,
        )

    @post(
        "/change-requests",
        status_code=HTTP_201_CREATED,
        request_max_body_size=UPLOAD_LIMIT,
        operation_id="fileChangeRequestForMember",
        summary="File a designation change request with scanned evidence for a resident (clerk, ID card checked)",
        description="For a resident designated at the clerk's institution, or moving to it. Reviewed like the "
        "resident's own request; the resident sees it with `filed_by`. Needs an `Idempotency-Key`.",
        cache_control=CacheControlHeader(no_store=True),
        opt=problems(
            *COUNTER_PROBLEMS,
            *PAIR_PROBLEMS,
            "not_member_facility",
            "no_designation",
            "same_designation",
            "change_request_open",
        ),
    )
    async def file_change_request(
        self,
        data: Annotated[CounterChangeRequestForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        request: Request,
        ctx: AppContext,
        clerk: Principal,
    ) -> Response[ChangeRequestView]:
        uploads = data.evidence if isinstance(data.evidence, list) else [data.evidence]
        raw = [(u.filename or "", await u.read()) for u in uploads]
        # The form parser consumed the raw body: the key is compared on the fields and the files' digests.
        fingerprint = msgspec.json.encode(
            [
                data.id_number,
                data.institution_id,
                data.station_id,
                data.reason,
                data.reason_text,
                [hashlib.sha256(content).hexdigest() for _, content in raw],
            ]
        )

        async def work(_: object) -> ChangeRequestView:
            files = check_files(ctx.settings, raw, "evidence")
            return await designation.file_change_request_for_member(
                ctx,
                clerk,
                data.id_number,
                data.institution_id,
                data.station_id,
                data.reason,
                data.reason_text,
                files,
            )

        return await run_idempotent(  # type: ignore[return-value]
            request, ctx, f"staff:{clerk.staff_id}", work, completes_itself=False, fingerprint_body=fingerprint
        )
