"""/v1/me/notices: the caller's notices with the unread count, and marking them read."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from member_api.core.context import AppContext
from member_api.core.principal import MemberCaller
from member_api.core.types import QueryId
from member_api.notices import service
from member_api.notices.schemas import MarkedRead, MarkRead, NoticePage


class NoticesController(Controller):
    path = "/v1/me/notices"
    tags = ["notices"]
    security = [{"bearer": []}]

    @get("", operation_id="listNotices", summary="My notices, newest first, with the unread count")
    async def list_notices(
        self,
        caller: MemberCaller,
        before_id: QueryId = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> NoticePage:
        return await service.page(caller.member_id, before_id, limit)

    @post("/read", operation_id="markNoticesRead", status_code=HTTP_200_OK, summary="Mark notices read up to an id")
    async def mark_read(self, data: MarkRead, ctx: AppContext, caller: MemberCaller) -> MarkedRead:
        marked, unread = await service.mark_read(caller.member_id, data.up_to_id, ctx.clock.now())
        return MarkedRead(marked=marked, unread=unread)
