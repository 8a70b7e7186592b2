"""消息: the resident's notices newest first with the unread count; opening one marks it read and leads to what it
is about (the settlement, the claim, the clinics page), switching to the member it is about when that is a
dependant or an authorised relative."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.params import Parameter

from member_api.core.context import AppContext
from member_api.core.errors import not_found
from member_api.notices import service as notices
from member_api.web.app.resident import ROOT, Resident
from member_api.web.common.pages import page, redirect
from member_api.web.common.session import session_of

PAGE_SIZE = 20


@get("/messages")
async def messages(household: Resident, before_id: Annotated[int | None, Parameter(ge=1)] = None) -> Any:
    listed = await notices.page(household.caller.member_id, before_id, PAGE_SIZE)
    names = {p.id: p.name_masked for p in household.people}
    return page(
        "app/messages.html",
        resident=household,
        tab="messages",
        listing=listed,
        names=names,
        more_url=f"{ROOT}/messages?before_id={listed.next_before_id}" if listed.next_before_id else None,
    )


@get("/messages/{notice_id:int}")
async def open_message(request: Request[Any, Any, Any], ctx: AppContext, household: Resident, notice_id: int) -> Any:
    notice = await notices.open_notice(household.caller.member_id, notice_id, ctx.clock.now())
    if notice is None:
        raise not_found("消息", "notice")
    if notice.link.startswith(f"{ROOT}/"):
        person = next((p for p in household.people if p.id == notice.about_member_id), None)
        if person is not None and person.id != household.member_id:  # the page shows the member it is about
            session_of(request).update(m=None if person.relation == "self" else person.id)
        return redirect(notice.link)
    return page("app/message.html", resident=household, tab="messages", notice=notice)
