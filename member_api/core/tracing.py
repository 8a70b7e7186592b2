"""OpenTelemetry tracing: litestar's own plugin (one server span per request), asyncpg's instrumentation (a span per
statement) and spans around calls to outside services (SMS, push, credential decoders), exported by OTLP/HTTP.

Off unless ``MEMBER_API_OTEL_ENDPOINT`` is set, and then at no cost: nothing of OpenTelemetry is imported, ``span``
hands out one shared null context and ``trace_id`` answers ``None`` from a module global. When on, the request id
in every log line is the request's trace id (``core/observability.py``), so a log line leads to its trace.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

_tracer: Any = None
_provider: Any = None
_NULL: AbstractContextManager[None] = contextlib.nullcontext()


def span(name: str, **attributes: str | int | bool) -> AbstractContextManager[Any]:
    """A client span around a call to an outside service (no personal data in ``attributes``)."""
    if _tracer is None:
        return _NULL
    return _span(name, attributes)


@contextlib.contextmanager
def _span(name: str, attributes: dict[str, Any]) -> Iterator[Any]:
    # OpenTelemetry is loaded only where tracing is configured (here and below): an untraced process never pays for it.
    from opentelemetry.trace import SpanKind

    with _tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as current:
        yield current


def trace_id() -> str | None:
    """The current trace's id (32 hex digits) while tracing is on and a span is open, else ``None``."""
    if _tracer is None:
        return None
    from opentelemetry import trace  # loaded only where tracing is on (see _span)

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def plugins(endpoint: str, service_name: str, exporter: Any = None) -> list[Any]:
    """Turn tracing on for this process; the litestar plugin to add to the app ([] while ``endpoint`` is empty).

    ``exporter``: a span exporter in place of OTLP/HTTP to ``endpoint`` (tests may pass an in-memory one).
    """
    global _tracer, _provider
    if not endpoint and exporter is None:
        return []
    # Loaded only where tracing is configured (see _span).
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if exporter is None:
        # The OTLP exporter only when no other is given (tests pass an in-memory one).
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint, timeout=5)
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    if _provider is not None:
        _provider.shutdown()
    _provider = provider
    _tracer = provider.get_tracer("member_api")
    instrumentor = AsyncPGInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(tracer_provider=provider)
    config = OpenTelemetryConfig(
        tracer_provider=provider,
        exclude=["^/health", "^/metrics", "^/docs-assets"],
        exclude_spans=["receive", "send"],  # one span per request, not one per ASGI message
    )
    return [OpenTelemetryPlugin(config)]


def flush() -> None:
    """Export what is buffered (at shutdown, so the last requests' spans are not lost)."""
    if _provider is not None:
        _provider.force_flush(5000)


def shutdown() -> None:
    """Tracing off again (tests turn it on for one app)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None
    with contextlib.suppress(Exception):
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor  # only if tracing loaded it

        instrumentor = AsyncPGInstrumentor()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


class _Traced:
    """``target`` with its async ``method`` run inside a client span named ``name`` (other attributes pass through)."""

    def __init__(self, target: Any, method: str, name: str) -> None:
        self._target, self._method, self._name = target, method, name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if attr != self._method:
            return value

        async def call(*args: Any, **kwargs: Any) -> Any:
            with span(self._name, **{"member_api.backend": type(self._target).__name__}):
                return await value(*args, **kwargs)

        return call


def traced(target: Any, method: str, name: str) -> Any:
    """Wrap an outside-service client (SMS sender, push sender, credential decoder) so each call is a span; the
    client itself while tracing is off."""
    return target if _tracer is None else _Traced(target, method, name)
