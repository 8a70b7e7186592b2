"""``POST /fsi/api/rsfComIfsService/callService``: the national facility interface's one endpoint.

The path is the one facility systems already call on the national platform (some append the ``infno``). The body is
read here as bytes, not by the framework, so that nothing a client sends (not UTF-8, not JSON, too large) becomes a
problem+json or a 5xx: every answer is the envelope, HTTP 200, as facility clients expect. Documented in
docs/integration.md (Part 3), not in the OpenAPI document (this is not the REST API).
"""

from __future__ import annotations

from litestar import Controller, Request, Response, post
from litestar.exceptions import HTTPException

from member_api.core.context import AppContext
from member_api.fsi import envelope, service

HEADERS = {"Cache-Control": "no-store"}
MEDIA = "application/json; charset=utf-8"


async def _answer(request: Request, ctx: AppContext, infno: str | None) -> Response[bytes]:
    limit = ctx.settings.fsi_max_body_bytes
    received = ctx.clock.now()
    too_large = envelope.Refusal(
        "message_too_large", f"报文过大（上限 {limit} 字节）", f"The message exceeds {limit} bytes.", "body"
    )
    if (request.headers.get("content-length") or "0").isdigit() and int(
        request.headers.get("content-length") or 0
    ) > limit:
        return Response(envelope.refused(received, ctx.clock.now(), too_large), media_type=MEDIA, headers=HEADERS)
    try:
        raw = await request.body()
    except HTTPException:  # beyond the app's body limit, or the client went away mid-body
        return Response(envelope.refused(received, ctx.clock.now(), too_large), media_type=MEDIA, headers=HEADERS)
    if len(raw) > limit:
        return Response(envelope.refused(received, ctx.clock.now(), too_large), media_type=MEDIA, headers=HEADERS)
    body = await service.handle(ctx, raw, request.headers.get("authorization", ""), infno)
    return Response(body, media_type=MEDIA, headers=HEADERS)


class FsiController(Controller):
    path = "/fsi/api/rsfComIfsService"
    include_in_schema = False

    @post("/callService", status_code=200)
    async def call(self, request: Request, ctx: AppContext) -> Response[bytes]:
        return await _answer(request, ctx, None)

    @post("/callService/{infno:str}", status_code=200)
    async def call_infno(self, request: Request, ctx: AppContext, infno: str) -> Response[bytes]:
        return await _answer(request, ctx, infno[:8])
