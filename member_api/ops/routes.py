"""Liveness, readiness (database reachable, migrations applied) and the JWKS."""

from __future__ import annotations

import logging

import msgspec
from litestar import Controller, Response, get
from litestar.openapi import ResponseSpec

from member_api.core.context import AppContext
from member_api.db import pending_migrations

log = logging.getLogger("member_api.ops")
JWKS_MAX_AGE_S = 60


class Health(msgspec.Struct, kw_only=True, omit_defaults=True):
    status: str
    pending_migrations: list[str] | None = None


class Jwk(msgspec.Struct, kw_only=True):
    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class Jwks(msgspec.Struct, kw_only=True):
    keys: list[Jwk]


class OpsController(Controller):
    tags = ["ops"]

    @get("/health/live", operation_id="checkLiveness", summary="The process is up")
    async def live(self) -> Health:
        return Health(status="ok")

    @get(
        "/health/ready",
        operation_id="checkReadiness",
        summary="Database reachable and every migration applied",
        responses={503: ResponseSpec(data_container=Health, description="Not ready")},
    )
    async def ready(self) -> Response[Health]:
        try:
            pending = await pending_migrations()
        except Exception as exc:
            log.warning("ready_db_unreachable", extra={"error": type(exc).__name__})
            return Response(Health(status="database_unreachable"), status_code=503)
        if pending:
            return Response(Health(status="migrations_pending", pending_migrations=pending), status_code=503)
        return Response(Health(status="ok"), status_code=200)

    @get(
        "/.well-known/jwks.json",
        operation_id="getJwks",
        summary="Public keys (current and previous) to verify e-credentials offline; access-token keys never",
    )
    async def jwks(self, ctx: AppContext) -> Response[Jwks]:
        body = msgspec.convert(ctx.keyring.credential.jwks(), Jwks)
        # Short: a withdrawn key (``member-api revoke-key``) must leave terminals' caches soon.
        return Response(body, headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_S}"})
