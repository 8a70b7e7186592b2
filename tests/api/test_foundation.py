"""Issue 3: health, readiness, problem+json for every kind of bad request, request ids, docs, metrics."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from member_api import db
from member_api.app import create_app
from member_api.openapi_export import render_openapi
from member_api.settings import Settings
from tests.helpers.problems import assert_problem

ROOT = Path(__file__).resolve().parents[2]


async def test_health_live_and_ready(client):
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"


async def test_ready_is_503_on_a_database_without_migrations(tmp_path):
    settings = Settings(data_dir=str(tmp_path), database_url=f"sqlite:///{tmp_path}/empty.sqlite3", sms_backend="none")
    previous = db.current_engine()
    try:
        async with AsyncTestClient(app=create_app(settings)) as fresh:
            response = await fresh.get("/health/ready")
            assert response.status_code == 503
            assert response.json()["status"] == "migrations_pending"
            assert len(response.json()["pending_migrations"]) >= 1
    finally:
        db.activate(previous)


async def test_malformed_json_is_400_problem(client):
    response = await client.post("/v1/auth/otp", content=b'{"phone": ', headers={"content-type": "application/json"})
    assert_problem(response, 400, "malformed_json")


async def test_wrong_type_names_the_field(client):
    body = assert_problem(await client.post("/v1/auth/otp", json={"phone": 13800000001}), 422, "validation_error")
    assert any(e["field"] == "phone" for e in body["errors"])


async def test_unknown_field_is_refused(client):
    body = assert_problem(await client.post("/v1/auth/otp", json={"phone": "13800000001", "admin": True}), 422)
    assert body["errors"]


async def test_body_over_the_limit_is_413(client):
    big = json.dumps({"phone": "1" * (client.settings.max_body_bytes + 10)})
    assert_problem(
        await client.post("/v1/auth/otp", content=big, headers={"content-type": "application/json"}),
        413,
        "body_too_large",
    )


async def test_unknown_route_and_wrong_method(client):
    assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")
    assert_problem(await client.delete("/v1/facilities"), 405, "method_not_allowed")


async def test_request_id_is_echoed_or_made(client):
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    made = await client.get("/health/live", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] not in ("", "bad id with spaces")


async def test_metrics_by_route_template(database, world, clock):
    settings = msgspec.structs.replace(database["settings"], metrics_token="metrics-test-token")
    async with AsyncTestClient(app=create_app(settings, clock=clock, engine=database["engine"])) as scraper:
        await scraper.get("/v1/facilities/1")
        text = (await scraper.get("/metrics", headers={"Authorization": "Bearer metrics-test-token"})).text
    assert 'path="/v1/facilities/{facility_id}"' in text


async def test_docs_work_offline(client):
    page = await client.get("/docs/")
    assert page.status_code == 200
    assert "cdn." not in page.text and "unpkg" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert (await client.get(f"/docs-assets/{asset}")).status_code == 200


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_committed_openapi_is_current(db_kind):
    committed = (ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8")
    assert committed == render_openapi(), "run: member-api export-openapi -o openapi/openapi.json"
