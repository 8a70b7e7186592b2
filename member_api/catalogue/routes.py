"""/v1/catalogue: search the medical insurance catalogue (R18) for the counter console and facility systems."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import CacheControlHeader
from litestar.params import Parameter

from member_api.catalogue import service
from member_api.catalogue.schemas import CataloguePage
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.types import QueryId


class CatalogueController(Controller):
    path = "/v1/catalogue"
    tags = ["catalogue"]

    @get(
        "",
        operation_id="searchCatalogue",
        summary="Search catalogue entries by code, name or pinyin initials (R18)",
        description="Entries valid on `on` (today by default) whose national code starts with `q`, whose name holds "
        "it, or whose pinyin initials start with it (`amx` finds 阿莫西林); with `facility_id`, also those the "
        "facility's own code starting with `q` is mapped to, each with that code. Exact codes first, at most "
        f"`limit` (≤ {service.SEARCH_LIMIT}). The catalogue is public, as the national one is.",
        cache_control=CacheControlHeader(max_age=300, public=True),
    )
    async def search(
        self,
        ctx: AppContext,
        q: Annotated[str, Parameter(min_length=1, max_length=50)],
        on: date | None = None,
        facility_id: QueryId = None,
        limit: Annotated[int, Parameter(ge=1, le=service.SEARCH_LIMIT)] = 20,
    ) -> CataloguePage:
        return await service.search(q, on or local_today(ctx.clock), facility_id, limit)
