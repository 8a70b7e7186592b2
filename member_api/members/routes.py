"""/v1/me: the caller's record, binding, dependants."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.status_codes import HTTP_200_OK

from member_api.core.context import AppContext
from member_api.core.openapi import problems
from member_api.core.principal import MemberCaller, Principal, provide_account
from member_api.members import service
from member_api.members.schemas import BindingRequest, MemberView, MeView
from member_api.members.tables import Member


class MeController(Controller):
    path = "/v1/me"
    tags = ["me"]
    security = [{"bearer": []}]
    dependencies = {"account": Provide(provide_account)}

    @get("", operation_id="getMe", summary="The logged-in resident and their bound record")
    async def me(self, account: Principal) -> MeView:
        return await service.me(account)

    @post(
        "/binding",
        status_code=HTTP_200_OK,
        operation_id="bindRecord",
        summary="Bind the insurance record by ID number and name",
        opt=problems(
            invalid_id_number=422,
            member_not_found=404,
            account_already_bound=409,
            already_bound=409,
            binding_locked=429,
        ),
    )
    async def bind(self, data: BindingRequest, account: Principal, ctx: AppContext) -> MeView:
        return await service.bind(ctx, account, data.id_number, data.name)

    @get(
        "/dependants",
        operation_id="listDependants",
        summary="Members under the caller's guardianship (newborns, minors)",
    )
    async def dependants(self, caller: MemberCaller) -> list[MemberView]:
        return await service.member_views(Member.guardian == caller.member_id)
