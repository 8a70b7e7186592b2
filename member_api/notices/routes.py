"""/v1/me/notices: the caller's notices with the unread count, opening one, marking them read, the resident's
choices per kind, and the one-time WeChat subscriptions the mini-program records."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from member_api.core.context import AppContext
from member_api.core.errors import DomainError
from member_api.core.idempotency import run_idempotent
from member_api.core.openapi import problems
from member_api.core.principal import MemberCaller
from member_api.core.types import QueryId
from member_api.notices import service
from member_api.notices.schemas import (
    MarkedRead,
    MarkRead,
    NoticePage,
    NoticePreferences,
    NoticePreferenceView,
    NoticeView,
    SubscribeResults,
    Subscriptions,
)


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

    @get("/{notice_id:int}", operation_id="openNotice", summary="One of my notices, marked read as it is opened")
    async def open_notice(self, notice_id: int, ctx: AppContext, caller: MemberCaller) -> NoticeView:
        found = await service.open_notice(caller.member_id, notice_id, ctx.clock.now())
        if found is None:
            raise DomainError("not_found", "未找到该消息", "No such notice.")
        return found

    @post("/read", operation_id="markNoticesRead", status_code=HTTP_200_OK, summary="Mark notices read up to an id")
    async def mark_read(self, data: MarkRead, ctx: AppContext, caller: MemberCaller) -> MarkedRead:
        marked, unread = await service.mark_read(caller.member_id, data.up_to_id, ctx.clock.now())
        return MarkedRead(marked=marked, unread=unread)

    @get("/preferences", operation_id="getNoticePreferences", summary="Which kinds of notice are pushed to me")
    async def get_preferences(self, caller: MemberCaller) -> list[NoticePreferenceView]:
        return await service.preferences(caller.member_id)

    @put(
        "/preferences",
        operation_id="setNoticePreferences",
        summary="Turn the push of kinds of notice on or off (they stay in the list)",
    )
    async def set_preferences(self, data: NoticePreferences, caller: MemberCaller) -> list[NoticePreferenceView]:
        return await service.set_preferences(caller.member_id, data.chosen())

    @post(
        "/subscriptions",
        operation_id="recordSubscriptions",
        summary="Record what wx.requestSubscribeMessage answered: each accepted template allows one message",
        opt=problems(idempotent=True),
    )
    async def record_subscriptions(
        self, data: SubscribeResults, request: Request, ctx: AppContext, caller: MemberCaller
    ) -> Response[Subscriptions]:
        async def work(_: object) -> Subscriptions:
            remaining = await service.record_subscriptions(
                caller.member_id, data.results, ctx.settings.wechat_template_map, ctx.clock.now()
            )
            return Subscriptions(remaining=remaining)

        return await run_idempotent(  # type: ignore[return-value]
            request, ctx, f"account:{caller.principal.account_id}", work, completes_itself=False
        )
