"""Issue 31 item 5: OpenTelemetry traces exported by OTLP/HTTP (to a local fake collector speaking the protocol):
a server span per request from litestar's plugin, a span per PostgreSQL statement (asyncpg), a span around the SMS
call; the request id in the log lines and the X-Request-ID header is the trace id. Off by default, at no cost."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from member_api.app import create_app
from member_api.core import tracing
from member_api.core.observability import JsonFormatter
from member_api.settings import Settings
from tests.helpers import member_entry
from tests.helpers.databases import last_sms_code


class _Collector(BaseHTTPRequestHandler):
    spans: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource in request.resource_spans:
            service = next(a.value.string_value for a in resource.resource.attributes if a.key == "service.name")
            for scope in resource.scope_spans:
                for s in scope.spans:
                    self.spans.append(
                        {"name": s.name, "trace_id": s.trace_id.hex(), "service": service, "scope": scope.scope.name}
                    )
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    spans: list[dict[str, Any]] = []
    handler = type("Collector", (_Collector,), {"spans": spans})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1/traces", spans
    finally:
        server.shutdown()


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


async def test_a_request_is_one_trace_from_the_app_through_the_database_and_the_sms_provider(
    database, world, clock, collector
):
    endpoint, spans = collector
    settings = msgspec.structs.replace(database["settings"], otel_endpoint=endpoint, otel_service_name="member-api-t")
    lines = _Lines()
    access = logging.getLogger("member_api.access")
    try:
        app = create_app(settings, clock=clock, engine=database["engine"])
        access.addHandler(lines)
        access.setLevel(logging.INFO)
        async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
            client.world, client.settings = world, settings
            entry = member_entry(client, "SG0000000001")
            sent = await client.post("/v1/auth/otp", json={"phone": entry["phone"]})
            code = last_sms_code(settings, entry["phone"])
            tokens = (await client.post("/v1/auth/login", json={"phone": entry["phone"], "code": code})).json()
            auth = {"Authorization": f"Bearer {tokens['access_token']}"}
            binding = {"id_number": entry["id_number"], "name": entry["name"]}
            assert (await client.post("/v1/me/binding", json=binding, headers=auth)).status_code == 200
            benefits = await client.get("/v1/me/benefits", headers=auth)
        tracing.flush()
    finally:
        access.removeHandler(lines)
        access.setLevel(logging.NOTSET)
        tracing.shutdown()
    assert sent.status_code == 202 and benefits.status_code == 200
    otp_trace = sent.headers["x-request-id"]
    assert len(otp_trace) == 32
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for s in spans:
        by_trace.setdefault(s["trace_id"], []).append(s)
    names = {s["name"] for s in by_trace[otp_trace]}
    assert "POST /v1/auth/otp" in names
    assert "sms.send" in names  # the provider call, inside the request's trace
    assert all(s["service"] == "member-api-t" for s in spans)
    benefits_trace = by_trace[benefits.headers["x-request-id"]]
    assert any(s["name"].startswith("GET /v1/me/benefits") for s in benefits_trace)
    if database["kind"] == "postgres":
        assert any("asyncpg" in s["scope"] for s in benefits_trace)  # the statements, as child spans
    logged = {line["request_id"] for line in lines.lines}
    assert {otp_trace, benefits.headers["x-request-id"]} <= logged  # the log line leads to the trace


def test_tracing_is_off_by_default_at_no_cost(tmp_path):
    """No endpoint: no OpenTelemetry middleware around the app, asyncpg untouched, spans are one shared no-op."""
    import asyncpg

    execute = asyncpg.connection.Connection.execute
    app = create_app(Settings(data_dir=str(tmp_path)))
    assert "OpenTelemetry" not in type(app.asgi_handler).__name__
    assert asyncpg.connection.Connection.execute is execute
    assert tracing.span("sms.send") is tracing.span("push.send")
    assert tracing.trace_id() is None
