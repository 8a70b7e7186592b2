"""/v1/me/claims, /v1/me/referrals, /v1/review/claims and /v1/counter/referrals."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from member_api.claims import service
from member_api.claims.schemas import (
    ClaimCreate,
    ClaimDecision,
    ClaimView,
    ReceiptForm,
)
from member_api.core.context import AppContext
from member_api.core.idempotency import run_idempotent
from member_api.core.openapi import problems
from member_api.core.principal import MemberCaller, Principal
from member_api.core.types import PathId, QueryId
from member_api.core.uploads import check_files, file_response

UPLOAD_LIMIT = 6 * 5 * 1_048_576
Limit = Annotated[int, Parameter(ge=1, le=100)]


async def _file(ctx: AppContext, sha256: str, content_type: str, filename: str) -> Response[bytes]:
    return file_response(ctx.blobs.get(sha256), content_type, filename)


class MeClaimsController(Controller):
    path = "/v1/me"
    tags = ["claims"]
    security = [{"bearer": []}]

    @post(
        "/claims",
        status_code=HTTP_201_CREATED,
        operation_id="createClaim",
        summary="Create a draft newborn or referral claim",
        opt=problems("newborn_claim_needs_dependant", "no_designation", idempotent=True),
    )
    async def create(
        self, data: ClaimCreate, request: Request, ctx: AppContext, caller: MemberCaller, subject_member_id: int
    ) -> Response[ClaimView]:
        return await run_idempotent(  # type: ignore[return-value]
            request,
            ctx,
            f"account:{caller.principal.account_id}",
            lambda _: service.create(ctx, caller.member_id, caller.principal, subject_member_id, data),
            completes_itself=False,
        )

    @post(
        "/claims/{claim_id:int}/receipts",
        status_code=HTTP_201_CREATED,
        request_max_body_size=UPLOAD_LIMIT,
        operation_id="addClaimReceipts",
        summary="Attach receipt images or itemised lists (JPEG, PNG, PDF) to one item",
        description="Requires an `Idempotency-Key` header: a phone that retries on a flaky network attaches the "
        "files once (the key is compared on the item and the files' digests).",
        opt=problems("claim_not_draft", idempotent=True),
    )
    async def receipts(
        self,
        claim_id: PathId,
        data: Annotated[ReceiptForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        request: Request,
        ctx: AppContext,
        caller: MemberCaller,
        subject_member_id: int,
    ) -> Response[ClaimView]:
        raw = [(u.filename or "", await u.read()) for u in data.files]
        # The form parser consumed the raw body: the key is compared on the fields and the files' digests.
        fingerprint = msgspec.json.encode(
            [subject_member_id, claim_id, data.item_id, [hashlib.sha256(content).hexdigest() for _, content in raw]]
        )

        async def work(_: object) -> ClaimView:
            files = check_files(ctx.settings, raw, "files")
            return await service.add_receipts(ctx, caller.principal, subject_member_id, claim_id, data.item_id, files)

        return await run_idempotent(  # type: ignore[return-value]
            request,
            ctx,
            f"account:{caller.principal.account_id}",
            work,
            completes_itself=False,
            fingerprint_body=fingerprint,
        )

    @post(
        "/claims/{claim_id:int}/submit",
        status_code=HTTP_200_OK,
        operation_id="submitClaim",
        summary="Check every rule and submit",
        opt=problems(
            "claim_not_draft", "outside_claim_window", "newborn_not_eligible", "newborn_not_paid_up", "claim_incomplete"
        ),
    )
    async def submit(
        self, claim_id: PathId, ctx: AppContext, caller: MemberCaller, subject_member_id: int
    ) -> ClaimView:
        return await service.submit(ctx, caller.principal, subject_member_id, claim_id)

    @get("/claims", operation_id="listClaims", summary="The member's claims with status and amounts")
    async def list_claims(self, caller: MemberCaller, subject_member_id: int) -> list[ClaimView]:
        return await service.list_for_member(subject_member_id)

    @get(
        "/claims/{claim_id:int}",
        operation_id="getClaim",
        summary="One claim with its items, receipts and review outcome",
    )
    async def one(self, claim_id: PathId, caller: MemberCaller, subject_member_id: int) -> ClaimView:
        return await service.view(claim_id, subject_member_id)

    @get(
        "/claims/{claim_id:int}/receipts/{receipt_id:int}",
        operation_id="getClaimReceipt",
        summary="A receipt file, to its owner",
        media_type="application/octet-stream",
    )
    async def receipt(
        self, claim_id: PathId, receipt_id: PathId, ctx: AppContext, caller: MemberCaller, subject_member_id: int
    ) -> Response[bytes]:
        sha256, content_type, filename = await service.receipt_file(claim_id, receipt_id, subject_member_id)
        return await _file(ctx, sha256, content_type, filename)


class ReviewClaimsController(Controller):
    path = "/v1/review/claims"
    tags = ["review"]
    security = [{"bearer": []}]

    @get(
        "",
        operation_id="listClaimsForReview",
        summary="Claims to review (filter by status, kind, division, submission date)",
    )
    async def list_claims(
        self,
        reviewer: Principal,
        status: Literal["submitted", "in_review", "approved", "partly_approved", "rejected"] | None = None,
        kind: Literal["newborn", "referral"] | None = None,
        division: str | None = None,
        submitted_from: date | None = None,
        limit: Limit = 50,
        before_id: QueryId = None,
    ) -> list[ClaimView]:
        return await service.review_list(status, kind, division, submitted_from, limit, before_id)

    @get("/{claim_id:int}", operation_id="getClaimForReview", summary="A claim under review")
    async def one(self, claim_id: PathId, reviewer: Principal) -> ClaimView:
        view = await service.view(claim_id)
        return view

    @get(
        "/{claim_id:int}/receipts/{receipt_id:int}",
        operation_id="getClaimReceiptForReview",
        summary="A receipt file, to reviewers",
        media_type="application/octet-stream",
    )
    async def receipt(
        self, claim_id: PathId, receipt_id: PathId, ctx: AppContext, reviewer: Principal
    ) -> Response[bytes]:
        sha256, content_type, filename = await service.receipt_file(claim_id, receipt_id, None)
        return await _file(ctx, sha256, content_type, filename)

    @post(
        "/{claim_id:int}/review",
        status_code=HTTP_200_OK,
        operation_id="startClaimReview",
        summary="Take a submitted claim into review (only this reviewer then decides it)",
        opt=problems("claim_taken_by_another_reviewer", "claim_not_reviewable"),
    )
    async def start_review(self, claim_id: PathId, ctx: AppContext, reviewer: Principal) -> ClaimView:
        return await service.start_review(ctx, reviewer, claim_id)

    @post(
        "/{claim_id:int}/decision",
        status_code=HTTP_200_OK,
        operation_id="decideClaim",
        summary="Approve or reject each item; pays approved ones",
        opt=problems("claim_taken_by_another_reviewer", "claim_not_reviewable"),
    )
    async def decide(self, claim_id: PathId, data: ClaimDecision, ctx: AppContext, reviewer: Principal) -> ClaimView:
        return await service.decide(ctx, reviewer, claim_id, data)
