"""/v1/me/family (request, confirm, revoke, list, what was done for me) and the counter's confirmation (P1)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from member_api.core.context import AppContext
from member_api.core.openapi import problems
from member_api.core.principal import MemberCaller, Principal
from member_api.core.types import PathId
from member_api.family import service
from member_api.family.schemas import ActView, CounterConfirmation, FamilyView, GrantRequest, GrantRequested, GrantView


class MeFamilyController(Controller):
    path = "/v1/me/family"
    tags = ["family"]
    security = [{"bearer": []}]

    @get("", operation_id="getFamily", summary="Who acts for me, and for whom I act (P1)")
    async def family(self, caller: MemberCaller) -> FamilyView:
        return await service.family(caller.member_id)

    @post(
        "/grants",
        operation_id="requestFamilyGrant",
        status_code=HTTP_202_ACCEPTED,
        summary="Ask an adult member (by ID number) to let me act for them in these scopes",
        description="The same answer whether or not the number is an insured adult's: the member confirms in their "
        "own account or at a counter, and the authorisation then appears in `i_act_for`. A few requests a day per "
        "account (429 `family_requests_limited`).",
        opt=problems("invalid_id_number", "family_self", "family_requests_limited"),
    )
    async def request_grant(self, data: GrantRequest, ctx: AppContext, caller: MemberCaller) -> GrantRequested:
        return await service.request(ctx, caller, data.id_number, list(data.scopes))

    @post(
        "/grants/{grant_id:int}/confirm",
        operation_id="confirmFamilyGrant",
        status_code=HTTP_200_OK,
        summary="As the member acted for, confirm a relative's request",
        opt=problems("family_grant_not_pending", "family_limit_reached"),
    )
    async def confirm(self, grant_id: PathId, ctx: AppContext, caller: MemberCaller) -> GrantView:
        return await service.confirm(ctx, caller, grant_id)

    @post(
        "/grants/{grant_id:int}/revoke",
        operation_id="revokeFamilyGrant",
        status_code=HTTP_200_OK,
        summary="End an authorisation (either side, at any time)",
        opt=problems("family_grant_ended"),
    )
    async def revoke(self, grant_id: PathId, ctx: AppContext, caller: MemberCaller) -> GrantView:
        return await service.revoke(ctx, caller, grant_id)

    @get("/activity", operation_id="listActsForMe", summary="What guardians and relatives did for me")
    async def activity(self, caller: MemberCaller) -> list[ActView]:
        return await service.acts(caller.member_id)


class CounterFamilyController(Controller):
    path = "/v1/counter/family-grants"
    tags = ["counter"]
    security = [{"bearer": []}]

    @post(
        "/{grant_id:int}/confirm",
        operation_id="confirmFamilyGrantAtCounter",
        status_code=HTTP_200_OK,
        summary="Confirm for a member without a phone, after checking their ID card",
        opt=problems("invalid_id_number", "family_grant_not_pending", "family_limit_reached"),
    )
    async def confirm(
        self, grant_id: PathId, data: CounterConfirmation, ctx: AppContext, clerk: Principal, request: Request
    ) -> GrantView:
        return await service.confirm_at_counter(ctx, clerk, grant_id, data.id_number)
