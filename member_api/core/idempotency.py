"""Idempotency-Key handling (IETF httpapi draft): replay, reuse with another body, concurrent use."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from litestar import Request, Response
from litestar.enums import ParamType
from litestar.openapi.spec import OpenAPIType, Parameter, Schema
from litestar.status_codes import HTTP_201_CREATED

from member_api.core.context import AppContext
from member_api.core.errors import PROBLEM, DomainError
from member_api.core.tables import IdempotencyRecord
from member_api.db import fetch, lock_for_update, retry_transient, unavailable, write_transaction

log = logging.getLogger("member_api.core.idempotency")
RUNNING, DONE = "running", "done"
# A running key whose request neither finished nor released it (the database went away meanwhile) may be taken over
# after this lease; the 503 of such a request says to retry after it. Every wait inside a request is bounded by far
# less (db_* timeouts), and a takeover fences the earlier holder out (``complete`` then matches no row).
STALE_AFTER = timedelta(seconds=15)
RELEASE_RETRY_S = 0.5
RETENTION = timedelta(hours=48)  # the draft asks for at least 24 h; `member-api housekeeping` removes older keys
MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"
# What ``key_from`` accepts once surrounding blanks are stripped: 1-255 printable ASCII characters.
KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
PROBLEMS = (  # for the OpenAPI document of every operation that takes the header (statuses: core/problems)
    "idempotency_key_missing",
    "idempotency_key_invalid",
    "idempotency_in_progress",
    "idempotency_key_reused",
)


_background: set[asyncio.Task[None]] = set()


@dataclass(frozen=True)
class KeyLease:
    """The right to process a key; ``complete`` must run inside the work's own transaction."""

    scope: str
    key: str
    since: datetime | None = None
    """When this holder leased the key (``updated_at``): a later takeover changes it and fences this one out."""

    async def complete(self, status: int, body: bytes, now: datetime) -> None:
        done = await fetch(
            "UPDATE idempotency_record SET state = {}, status_code = {}, body = {}, updated_at = {}"
            " WHERE scope = {} AND key = {} AND state = {} AND updated_at = {} RETURNING id",
            DONE,
            status,
            body.decode(),
            now,
            self.scope,
            self.key,
            RUNNING,
            self.since,
        )
        if not done:  # the lease expired and a retry took the key over: this transaction must not commit
            raise _in_progress()

    async def release(self) -> None:
        """Free the key after a refusal or a failure, so the client may retry it at once."""
        await fetch(
            "DELETE FROM idempotency_record WHERE scope = {} AND key = {} AND state = {} AND updated_at = {}",
            self.scope,
            self.key,
            RUNNING,
            self.since,
        )

    async def release_after(self, failure: BaseException) -> None:
        """Free the key after ``failure`` ended the work uncommitted, so the client may retry at once. When the
        database is away, the key is freed as soon as it is back, and the 503 names the lease as the longest wait."""
        try:
            await self.release()
        except Exception as release_error:
            if unavailable(release_error) is None:
                raise
            _background.add(task := asyncio.create_task(self.release_later()))
            task.add_done_callback(_background.discard)
            with contextlib.suppress(AttributeError, TypeError):
                failure.retry_after_s = int(STALE_AFTER.total_seconds())  # type: ignore[attr-defined]

    async def release_later(self) -> None:
        """The database refused the release too: keep trying until it is back (or the lease has run out)."""
        for _ in range(int(STALE_AFTER.total_seconds() / RELEASE_RETRY_S)):
            await asyncio.sleep(RELEASE_RETRY_S)
            try:
                await self.release()
                return
            except Exception as exc:
                if unavailable(exc) is None:
                    log.warning("idempotency_release_failed", extra={"error": type(exc).__name__})
                    return


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes

    def response(self) -> Response[bytes]:
        media = PROBLEM if self.status >= 400 else "application/json"
        return Response(self.body, status_code=self.status, media_type=media, headers={"Idempotent-Replayed": "true"})


def header_parameter() -> Parameter:
    """The header as an OpenAPI parameter: required wherever ``run_idempotent`` serves the operation."""
    return Parameter(
        name=HEADER,
        param_in=ParamType.HEADER,
        required=True,
        description="A unique key per intended operation (a UUID, say); a retry with the same key and body replays "
        "the first answer, kept for at least 24 hours. Missing: 400; same key, other body: 422; same key still "
        "running: 409 with Retry-After.",
        schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=MAX_KEY_LENGTH, pattern=KEY_PATTERN),
    )


def key_from(request: Request) -> str:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        raise DomainError(
            "idempotency_key_missing", "缺少 Idempotency-Key 请求头", "The Idempotency-Key header is required."
        )
    if len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise DomainError(
            "idempotency_key_invalid", "Idempotency-Key 格式无效", "The Idempotency-Key header is not valid."
        )
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def _in_progress(retry_after_s: int = 1) -> DomainError:
    return DomainError(
        "idempotency_in_progress",
        "相同的请求正在处理中，请稍后",
        "A request with this Idempotency-Key is still being processed.",
        headers={"Retry-After": str(max(1, retry_after_s))},
    )


async def _lease_new(scope: str, key: str, print_: str, now: datetime) -> bool:
    """Insert the key as running; False when it exists already."""
    inserted = await fetch(
        "INSERT INTO idempotency_record (scope, key, fingerprint, state, status_code, body, created_at, updated_at)"
        " VALUES ({}, {}, {}, {}, NULL, '', {}, {}) ON CONFLICT (scope, key) DO NOTHING RETURNING id",
        scope,
        key,
        print_,
        RUNNING,
        now,
        now,
    )
    return bool(inserted)


async def begin(scope: str, key: str, print_: str, now: datetime) -> KeyLease | Replay:
    """Lease a new key with one statement; only a key seen before needs the locked look-up."""
    if await retry_transient(lambda: _lease_new(scope, key, print_, now)):
        return KeyLease(scope, key, now)

    async def seen_before() -> KeyLease | Replay:
        async with write_transaction():
            row = await lock_for_update(
                IdempotencyRecord.select().where((IdempotencyRecord.scope == scope) & (IdempotencyRecord.key == key))
            ).first()
            if row is None:  # released by a refused attempt in between: lease it now, unless another just did
                if await _lease_new(scope, key, print_, now):
                    return KeyLease(scope, key, now)
                raise _in_progress()
            if row["fingerprint"] != print_:
                raise DomainError(
                    "idempotency_key_reused",
                    "该 Idempotency-Key 已用于另一个请求",
                    "This Idempotency-Key was used with a different request.",
                )
            if row["state"] == DONE:
                return Replay(row["status_code"], row["body"].encode())
            if row["updated_at"] > now - STALE_AFTER:
                raise _in_progress(int((row["updated_at"] + STALE_AFTER - now).total_seconds()) + 1)
            await fetch("UPDATE idempotency_record SET updated_at = {} WHERE id = {}", now, row["id"])
            return KeyLease(scope, key, now)

    return await retry_transient(seen_before)


async def run_idempotent(
    request: Request,
    ctx: AppContext,
    scope: str,
    work: Callable[[KeyLease], Awaitable[msgspec.Struct]],
    completes_itself: bool = True,
    fingerprint_body: bytes | None = None,
) -> Response[bytes]:
    """Serve a POST under its Idempotency-Key: replay what was answered, or do the work once.

    Money-moving work records its response inside its own transaction (``completes_itself``); other work
    is recorded right after it commits. A multipart route, whose raw body the form parser has consumed, passes
    ``fingerprint_body``: a canonical encoding of its fields and file digests, compared like a body.
    """
    key = key_from(request)
    body = fingerprint_body if fingerprint_body is not None else await request.body()
    gate = await begin(scope, key, fingerprint(request.method, request.url.path, body), ctx.clock.now())
    if isinstance(gate, Replay):
        return gate.response()
    try:
        result = await work(gate)
    except BaseException as exc:
        await gate.release_after(exc)
        raise
    body = msgspec.json.encode(result)
    if not completes_itself:
        await gate.complete(HTTP_201_CREATED, body, ctx.clock.now())
    return Response(body, status_code=HTTP_201_CREATED, media_type="application/json")
