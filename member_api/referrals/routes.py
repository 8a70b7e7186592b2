"""/v1/counter/referrals (the designated facility refers) and /v1/me/referrals (the member sees them)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.status_codes import HTTP_201_CREATED

from member_api.core.context import AppContext
from member_api.core.idempotency import run_idempotent
from member_api.core.openapi import problems
from member_api.core.principal import MemberCaller, Principal
from member_api.credential.identify import IDENTIFY_PROBLEMS
from member_api.referrals import service
from member_api.referrals.schemas import ReferralCreate, ReferralView


class MeReferralsController(Controller):
    path = "/v1/me"
    tags = ["claims"]
    security = [{"bearer": []}]

    @get("/referrals", operation_id="listReferrals", summary="Referrals approved for the member (R10)")
    async def referrals(self, caller: MemberCaller, subject_member_id: int) -> list[ReferralView]:
        return await service.member_referrals(subject_member_id)


class CounterReferralsController(Controller):
    path = "/v1/counter/referrals"
    tags = ["counter"]
    security = [{"bearer": []}]

    @post(
        "",
        status_code=HTTP_201_CREATED,
        operation_id="createReferral",
        summary="Record a referral approved by the designated facility (R10)",
        description="Requires an `Idempotency-Key` header: a retried request registers the referral once.",
        opt=problems(*IDENTIFY_PROBLEMS, "not_designated_facility", "invalid_referral_target", idempotent=True),
    )
    async def create(
        self, data: ReferralCreate, request: Request, ctx: AppContext, clerk: Principal
    ) -> Response[ReferralView]:
        return await run_idempotent(  # type: ignore[return-value]
            request,
            ctx,
            f"staff:{clerk.staff_id}",
            lambda _lease: service.create_referral(ctx, clerk, data),
            completes_itself=False,
        )
