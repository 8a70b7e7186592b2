"""History: settlements and claim payouts newest first (keyset pages, infinite scroll), detail, monthly chart."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from litestar import Request, Response, get
from litestar.params import Parameter

from member_api.benefits import service as benefits_service
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError
from member_api.core.types import Cursor
from member_api.web.app.charts import fund_by_month
from member_api.web.app.disputes import REASONS, STATUSES, disputes_of
from member_api.web.app.resident import ROOT, Resident
from member_api.web.common import labels
from member_api.web.common.forms import problem
from member_api.web.common.pages import PAGE_HEADERS, page

PAGE_SIZE = 10
DISPUTE_WORDS = {"reasons": REASONS, "statuses": STATUSES}
Year = Annotated[int | None, Parameter(ge=2000, le=2100)]


def _more_url(cursor: str | None) -> str | None:
    return f"{ROOT}/history/more?cursor={cursor}" if cursor else None


@get("/history")
async def history(ctx: AppContext, resident: Resident, year: Year = None, cursor: Cursor = None) -> Any:
    this_year = local_today(ctx.clock).year
    year = year or this_year
    items = await benefits_service.history(resident.member_id, None, None, None, cursor, PAGE_SIZE)
    summary, summary_problem = None, None
    try:
        summary = await benefits_service.summary(ctx, resident.member_id, year)
    except DomainError as err:
        summary_problem = problem(err)
    return page(
        "app/history.html",
        resident=resident,
        tab="history",
        year=year,
        this_year=this_year,
        items=items.items,
        next_cursor=items.next_cursor,
        more_url=_more_url(items.next_cursor),
        summary=summary,
        summary_problem=summary_problem,
        labels=labels,
    )


@get("/history/more")
async def history_more(
    request: Request[Any, Any, Any], resident: Resident, cursor: Cursor = None
) -> Response[dict[str, Any]]:
    """The next keyset page as HTML rows for the infinite scroll: ``{html, next}``."""
    items = await benefits_service.history(resident.member_id, None, None, None, cursor, PAGE_SIZE)
    template = request.app.template_engine.get_template("app/_history_items.html")  # type: ignore[union-attr]
    html = template.render(items=items.items, labels=labels, request=request)
    return Response({"html": html, "next": _more_url(items.next_cursor)}, headers=PAGE_HEADERS)


@get("/history/{settlement_id:int}")
async def history_detail(resident: Resident, settlement_id: int) -> Any:
    view = await benefits_service.one(resident.member_id, settlement_id)
    original = None
    if view.reverses:
        try:
            original = await benefits_service.one(resident.member_id, view.reverses)
        except DomainError:
            original = None
    return page(
        "app/history_detail.html",
        resident=resident,
        tab="history",
        item=view,
        original=original,
        labels=labels,
        disputes=await disputes_of(resident.member_id, settlement_id),
        dispute_words=DISPUTE_WORDS,
    )


@get("/history/chart.svg")
async def history_chart(ctx: AppContext, resident: Resident, year: Year = None) -> Response[bytes]:
    summary = await benefits_service.summary(ctx, resident.member_id, year or local_today(ctx.clock).year)
    svg = await anyio.to_thread.run_sync(fund_by_month, summary)
    return Response(svg, media_type="image/svg+xml", headers=PAGE_HEADERS)
