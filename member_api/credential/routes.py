"""/v1/me/credential: the e-credential as a token, PNG or SVG (never cached)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import anyio
import msgspec
from litestar import Controller, Response, get
from litestar.params import Parameter

from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.principal import MemberCaller
from member_api.credential import render, tokens
from member_api.members.service import eligibility

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
Size = Annotated[int, Parameter(ge=120, le=1200, description="edge length in pixels")]


class Credential(msgspec.Struct, kw_only=True):
    token: str
    expires_at: datetime
    refresh_after: datetime
    eligible: bool
    year: int


async def _issue(ctx: AppContext, member_id: int) -> Credential:
    caches = ctx.caches
    now = ctx.clock.now()
    token, exp = tokens.issue(ctx.keyring, member_id, now, ctx.settings.credential_ttl_s)
    today = local_today(ctx.clock)
    eligible = caches.eligibility.get((member_id, today))
    if eligible is None:
        eligible = caches.eligibility[(member_id, today)] = await eligibility(member_id, today)
    # Refresh a quarter of the lifetime early so a code on screen is never stale when scanned.
    early = max(5, ctx.settings.credential_ttl_s // 4)
    return Credential(
        token=token,
        expires_at=datetime.fromtimestamp(exp, UTC),
        refresh_after=datetime.fromtimestamp(exp - early, UTC),
        eligible=eligible,
        year=today.year,
    )


class CredentialController(Controller):
    path = "/v1/me"
    tags = ["credential"]
    security = [{"bearer": []}]

    @get("/credential", operation_id="getCredential", summary="A fresh e-credential token (60 s by default)")
    async def token(self, ctx: AppContext, caller: MemberCaller, subject_member_id: int) -> Response[Credential]:
        return Response(await _issue(ctx, subject_member_id), headers=NO_STORE)

    @get(
        "/credential.png",
        operation_id="getCredentialPng",
        summary="The e-credential as a QR PNG",
        media_type="image/png",
    )
    async def png(
        self, ctx: AppContext, caller: MemberCaller, subject_member_id: int, size: Size = 300
    ) -> Response[bytes]:
        return await _image(ctx, subject_member_id, size, render.png, "image/png")

    @get(
        "/credential.svg",
        operation_id="getCredentialSvg",
        summary="The e-credential as a QR SVG",
        media_type="image/svg+xml",
    )
    async def svg(
        self, ctx: AppContext, caller: MemberCaller, subject_member_id: int, size: Size = 300
    ) -> Response[bytes]:
        return await _image(ctx, subject_member_id, size, render.svg, "image/svg+xml")


async def _image(
    ctx: AppContext, member_id: int, size: int, renderer: Callable[[str, int], bytes], media_type: str
) -> Response[bytes]:
    """Render off the event loop: a PNG costs milliseconds of CPU that other requests should not wait for."""
    cred = await _issue(ctx, member_id)
    body = await anyio.to_thread.run_sync(renderer, cred.token, size)
    return Response(
        body, media_type=media_type, headers={**NO_STORE, "X-Credential-Expires": cred.expires_at.isoformat()}
    )
