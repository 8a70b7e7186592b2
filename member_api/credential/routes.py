"""/v1/me/credential: the e-credential as a token, PNG or SVG (never cached)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import anyio
from litestar import Controller, Response, get
from litestar.params import Parameter

from member_api.core.context import AppContext
from member_api.core.principal import MemberCaller
from member_api.credential import render
from member_api.credential.schemas import Credential
from member_api.credential.service import issue

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
Size = Annotated[int, Parameter(ge=120, le=1200, description="edge length in pixels")]


class CredentialController(Controller):
    path = "/v1/me"
    tags = ["credential"]
    security = [{"bearer": []}]

    @get("/credential", operation_id="getCredential", summary="A fresh e-credential token (60 s by default)")
    async def token(self, ctx: AppContext, caller: MemberCaller, subject_member_id: int) -> Response[Credential]:
        return Response(await issue(ctx, subject_member_id), headers=NO_STORE)

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
    cred = await issue(ctx, member_id)
    body = await anyio.to_thread.run_sync(renderer, cred.token, size)
    return Response(
        body, media_type=media_type, headers={**NO_STORE, "X-Credential-Expires": cred.expires_at.isoformat()}
    )
