"""The e-credential screen: a QR code that renews itself, and that turns to "已使用" when a counter settles it.

How the screen learns of the settlement: server-sent events. The page opens one ``EventSource`` on
``/app/credential/events?jti=...`` (the ids of the codes it showed that may still be scanned); the handler waits on
this worker's credential-events hub (``ledger/events.py``): on PostgreSQL the settling transaction sends a NOTIFY
that the worker's one listening connection receives, whichever worker or host settled, so an open screen costs the
database nothing while it waits; on SQLite one query per worker checks all waiting codes every half second. When
one of the codes is used the handler reads the movement (checking it is this member's) and sends ``used`` with the
amounts. SSE rather than a long poll because the browser reconnects by itself, with the retry delay the server
sets, and one stream replaces a request per check. Each stream ends after ``STREAM_S`` so no connection lives
forever; the browser reopens it.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Request, Response, get
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from member_api.benefits import service as benefits_service
from member_api.core.context import AppContext
from member_api.credential import render, tokens
from member_api.credential import service as credential_service
from member_api.facilities import service as facility_service
from member_api.ledger import service as ledger_service
from member_api.web.app.resident import Resident, screen_member
from member_api.web.common.errors import RedirectTo
from member_api.web.common.pages import PAGE_HEADERS, page, yuan

KEEPALIVE_S = 10.0
STREAM_S = 30.0
RETRY_MS = 800
QR_PX = 300
_JTI = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


async def _code(ctx: AppContext, member_id: int) -> dict[str, Any]:
    cred = await credential_service.issue(ctx, member_id)
    _, jti = tokens.read(ctx.keyring, cred.token, ctx.clock.now())
    svg = await anyio.to_thread.run_sync(render.svg, cred.token, QR_PX)
    return {
        "svg": svg.decode(),
        "token": cred.token,
        "jti": jti,
        "expires_at_ms": int(cred.expires_at.timestamp() * 1000),
        "refresh_after_ms": int(cred.refresh_after.timestamp() * 1000),
        "now_ms": int(ctx.clock.now().timestamp() * 1000),
        "eligible": cred.eligible,
        "year": cred.year,
    }


@get("/credential")
async def credential_page(ctx: AppContext, resident: Resident) -> Any:
    pair = (await facility_service.current(ctx, resident.member_id, None)).designation
    return page(
        "app/credential.html",
        resident=resident,
        tab="credential",
        code=await _code(ctx, resident.member_id),
        has_pair=pair is not None,
    )


@get("/credential/code")
async def credential_code(ctx: AppContext, resident: Resident) -> Response[dict[str, Any]]:
    """A fresh code for the page's script (the old one stays valid until it expires)."""
    return Response(await _code(ctx, resident.member_id), headers=PAGE_HEADERS)


def _message(event: str, data: dict[str, Any]) -> ServerSentEventMessage:
    return ServerSentEventMessage(event=event, data=msgspec.json.encode(data).decode(), retry=RETRY_MS)


@get("/credential/events")
async def credential_events(
    request: Request[Any, Any, Any],
    ctx: AppContext,
    jti: Annotated[list[str], Parameter(query="jti", max_items=5)],
) -> ServerSentEvent:
    """``used`` (with the amounts) once a counter settled one of these codes of the member; ``login`` when the
    login ran out (the page reloads); nothing else but keep-alive comments until the stream ends."""
    headers = {**PAGE_HEADERS, "X-Accel-Buffering": "no"}
    try:
        member_id = await screen_member(request, ctx)
    except RedirectTo as redirect:
        return ServerSentEvent([_message("login", {"location": redirect.location})], headers=headers)
    jtis = [j for j in jti if _JTI.match(j)]

    async def stream() -> AsyncIterator[ServerSentEventMessage]:
        deadline = time.monotonic() + STREAM_S
        async with ledger_service.credential_watch(jtis) as used:
            while (left := deadline - time.monotonic()) > 0:
                if await used(min(KEEPALIVE_S, left)):
                    break
                yield ServerSentEventMessage(data=None, comment="keep-alive")
            else:
                yield _message("idle", {})
                return
        row = await ledger_service.member_movement_by_credential(member_id, jtis)
        if row is None:  # another member's code (a forged query): nothing to tell this screen
            await anyio.sleep(max(0.0, deadline - time.monotonic()))
            yield _message("idle", {})
            return
        view = await benefits_service.one(member_id, row["id"])
        yield _message(
            "used",
            {
                "id": view.id,
                "jti": row["credential_jti"],
                "fund": yuan(view.fund_fen),
                "member": yuan(view.member_fen),
                "facility": view.facility_name,
                "visit_date": view.visit_date.isoformat(),
            },
        )

    return ServerSentEvent(stream(), headers=headers)
