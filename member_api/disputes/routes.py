"""/v1/me/disputes (file, list, one) and /v1/review/disputes (queue, take, decide, photo) (P2)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from member_api.core.context import AppContext
from member_api.core.openapi import problems
from member_api.core.principal import MemberCaller, Principal
from member_api.core.types import PathId
from member_api.core.uploads import check_uploads, file_response
from member_api.disputes import service
from member_api.disputes.schemas import DisputeDecision, DisputeForm, DisputeStatus, DisputeView

UPLOAD_LIMIT = 8 * 1_048_576


class MeDisputesController(Controller):
    path = "/v1/me/disputes"
    tags = ["disputes"]
    security = [{"bearer": []}]

    @post(
        "",
        operation_id="fileDispute",
        status_code=HTTP_201_CREATED,
        request_max_body_size=UPLOAD_LIMIT,
        summary="Dispute one of my counter settlements (not me, wrong amount, ...), with an optional photo (P2)",
        opt=problems("dispute_window_closed", "dispute_exists"),
    )
    async def file(
        self,
        data: Annotated[DisputeForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        ctx: AppContext,
        caller: MemberCaller,
        subject_member_id: int,
    ) -> DisputeView:
        photo = None
        if data.photo is not None:
            photo = (await check_uploads(ctx.settings, data.photo, "photo"))[0]
        return await service.file(
            ctx, caller, subject_member_id, data.settlement_id, data.reason, data.text[:1000], photo
        )

    @get("", operation_id="listMyDisputes", summary="My disputes and their outcome")
    async def list_disputes(self, caller: MemberCaller, subject_member_id: int) -> list[DisputeView]:
        return await service.of_member(subject_member_id)

    @get("/{dispute_id:int}", operation_id="getMyDispute", summary="One of my disputes")
    async def one(self, dispute_id: PathId, caller: MemberCaller, subject_member_id: int) -> DisputeView:
        return await service.one(dispute_id, subject_member_id)


class ReviewDisputesController(Controller):
    path = "/v1/review/disputes"
    tags = ["review"]
    security = [{"bearer": []}]

    @get("", operation_id="listDisputesToReview", summary="The dispute queue (open and in review by default)")
    async def queue(
        self,
        reviewer: Principal,
        status: DisputeStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> list[DisputeView]:
        return await service.queue(status, limit)

    @get("/{dispute_id:int}", operation_id="getDisputeToReview", summary="A dispute")
    async def one(self, dispute_id: PathId, reviewer: Principal) -> DisputeView:
        return await service.one(dispute_id)

    @get(
        "/{dispute_id:int}/photo",
        operation_id="getDisputePhoto",
        summary="The photo the member attached",
        media_type="application/octet-stream",
    )
    async def photo(self, dispute_id: PathId, ctx: AppContext, reviewer: Principal) -> Response[bytes]:
        sha256, content_type = await service.photo(dispute_id)
        return file_response(ctx.blobs.get(sha256), content_type, f"dispute-{dispute_id}")

    @post(
        "/{dispute_id:int}/take",
        operation_id="takeDispute",
        status_code=HTTP_200_OK,
        summary="Take into review",
        opt=problems("dispute_not_in_hand"),
    )
    async def take(self, dispute_id: PathId, ctx: AppContext, reviewer: Principal) -> DisputeView:
        return await service.take(ctx, reviewer, dispute_id)

    @post(
        "/{dispute_id:int}/decision",
        operation_id="decideDispute",
        status_code=HTTP_200_OK,
        summary="Confirm (the settlement is reversed) or reject with a reason",
        opt=problems("dispute_not_in_hand"),
    )
    async def decide(
        self, dispute_id: PathId, data: DisputeDecision, ctx: AppContext, reviewer: Principal
    ) -> DisputeView:
        return await service.decide(ctx, reviewer, dispute_id, data.decision, data.reason)
