"""JSON logs with a request id, and an access log that never carries bodies or query strings."""

from __future__ import annotations

import contextvars
import hmac
import itertools
import logging
import os
import re
import secrets
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.mmap_dict import MmapedDict

from member_api.core import tracing
from member_api.core.errors import DomainError

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
# Defence in depth: anything shaped like a mainland ID number or mobile number is masked in log lines.
_PERSONAL = re.compile(r"(?<!\d)(\d{17}[\dXx]|1[3-9]\d{9})(?!\d)")


_DIGIT_RUN = re.compile(r"\d{11}")  # every match of _PERSONAL has one; most lines have none, and this is twice as fast


def scrub(text: str) -> str:
    return _PERSONAL.sub("[redacted]", text) if _DIGIT_RUN.search(text) else text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return scrub(_JSON.encode(payload).decode())


_JSON = msgspec.json.Encoder(enc_hook=str)  # what json.dumps(default=str) wrote, in a third of the time


def configure_logging(level: str) -> None:
    # At INFO every request writes an access line: skip what the JSON lines never show (the caller's file and
    # line, found by walking the stack, and thread and process names), as the logging HOWTO's "Optimization"
    # section advises.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("granian.access",):
        logging.getLogger(noisy).disabled = True
    logging.getLogger("piccolo").setLevel(logging.WARNING)
    logging.getLogger("pikepdf").setLevel(logging.WARNING)


access_log = logging.getLogger("member_api.access")


_ids = itertools.count(1)
_id_prefix = secrets.token_hex(5)


def _new_prefix() -> None:
    global _id_prefix
    _id_prefix = secrets.token_hex(5)


os.register_at_fork(after_in_child=_new_prefix)  # every forked worker draws its own prefix


def new_request_id() -> str:
    """A process-random prefix and a counter: unique across workers and restarts without a syscall per request
    (a request id correlates log lines; it is no secret)."""
    return f"{_id_prefix}{next(_ids):06x}"


def _reserve_before_mapping() -> None:
    """Multiprocess metrics live in memory-mapped files that prometheus_client grows with ``truncate``, which only
    makes a sparse file: on a full disk the first write to a new page then kills the worker with SIGBUS. Reserving
    the blocks first (``posix_fallocate``) turns that into an ``OSError`` here, which ``_safely`` swallows."""
    original_init, original_init_value = MmapedDict.__init__, MmapedDict._init_value

    def init(self: Any, filename: str, read_mode: bool = False) -> None:
        if not read_mode:
            with open(filename, "a+b") as f:
                size = os.fstat(f.fileno()).st_size
                os.posix_fallocate(f.fileno(), 0, max(size, 1 << 20))  # prometheus_client's first size: 1 MiB
        original_init(self, filename, read_mode)

    def init_value(self: Any, key: str) -> None:
        capacity = self._capacity
        while self._used + len(key.encode()) + 32 > capacity:
            capacity *= 2
        if capacity != self._capacity:
            os.posix_fallocate(self._f.fileno(), 0, capacity)
        original_init_value(self, key)

    MmapedDict.__init__ = init  # type: ignore[method-assign]
    MmapedDict._init_value = init_value  # type: ignore[method-assign]


if hasattr(os, "posix_fallocate"):
    _reserve_before_mapping()
_metrics_failed = 0


def _safely(record: Any, *args: Any) -> Any:
    """A metric that cannot be recorded (its directory's disk is full) is dropped, never the request."""
    global _metrics_failed
    try:
        return record(*args)
    except Exception:
        _metrics_failed += 1
        if _metrics_failed in (1, 100) or _metrics_failed % 10_000 == 0:
            logging.getLogger("member_api.metrics").warning("metrics_failed", extra={"count": _metrics_failed})
        return None


# The metrics litestar's PrometheusMiddleware kept (same names and labels, so dashboards stay), recorded here with
# the label children cached per (method, route, status): that middleware rebuilt a Request, the label dicts
# and four label lookups on every request, a fifth of a plain request's cost.
_LABELS = ("method", "path", "status_code", "app_name")
REQUESTS = Counter("member_api_requests_total", "Total requests", _LABELS)
ERRORS = Counter("member_api_requests_error_total", "Total errors in requests", _LABELS)
DURATION = Histogram("member_api_request_duration_seconds", "Request duration, in seconds", _LABELS)
IN_PROGRESS = Gauge(
    "member_api_requests_in_progress",
    "Total requests currently in progress",
    _LABELS,
    multiprocess_mode="livesum",
)
UNMEASURED = frozenset({"/metrics"})


@lru_cache(maxsize=4096)
def _children(method: str, route: str, status: int) -> tuple[Any, Any, Any | None]:
    values = (method, route, str(status), "member_api")
    return REQUESTS.labels(*values), DURATION.labels(*values), ERRORS.labels(*values) if status >= 500 else None


@lru_cache(maxsize=2048)
def _in_progress(method: str, route: str) -> Any:
    return IN_PROGRESS.labels(method, route, "200", "member_api")


class ObservabilityMiddleware:
    """Per request: accept a sane ``X-Request-ID`` or make one and echo it; count and time the request by route
    template for ``/metrics``; log one access line (no body, no query string)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        # With tracing on, the request id IS the trace id (one id leads from a log line to the trace).
        rid = tracing.trace_id() or (incoming if _REQUEST_ID_OK.match(incoming) else new_request_id())
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500
        method, route = scope["method"], scope.get("path_template", "unmatched")
        measured = route not in UNMEASURED
        id_header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), id_header]
            await send(message)

        running = _safely(self._start, method, route) if measured else None
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            if measured:
                _safely(self._record, running, method, route, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request",
                    extra={"method": method, "route": route, "status": status, "ms": round(elapsed * 1000, 2)},
                )
            request_id_var.reset(token)

    @staticmethod
    def _start(method: str, route: str) -> Any:
        running = _in_progress(method, route)
        running.inc()
        return running

    @staticmethod
    def _record(running: Any, method: str, route: str, status: int, elapsed: float) -> None:
        if running is not None:
            running.dec()
        count, duration, errors = _children(method, route, status)
        count.inc()
        duration.observe(elapsed)
        if errors is not None:
            errors.inc()


def metrics_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:  # type: ignore[type-arg]
    """``/metrics`` answers only a bearer of ``MEMBER_API_METRICS_TOKEN``; with no token set, nobody.

    Route names, status counts and latencies describe the service to an attacker, so they are not public;
    a loopback exemption is not offered, because behind a reverse proxy on the same host every client is local.
    """
    expected = connection.app.state["ctx"].settings.metrics_token
    if not expected:
        raise DomainError(
            "metrics_disabled",
            "监控指标未启用",
            "Metrics are disabled; set MEMBER_API_METRICS_TOKEN to serve them.",
        )
    scheme, _, given = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise DomainError(
            "metrics_unauthorized",
            "需要监控令牌",
            "A valid metrics bearer token is required.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
