"""Issue 14 item 8: no-store on personal answers, nosniff everywhere, /metrics behind a token, CORS allow-list."""

from __future__ import annotations

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from member_api.app import create_app
from member_api.settings import Settings
from tests.helpers import login_phone, member_entry
from tests.helpers.problems import assert_problem
from tests.helpers.routes import role_headers, route_table

ENDPOINTS = route_table()
PUBLIC = ("GET /v1/facilities", "GET /v1/facilities/1")
H5 = "https://h5.sg-ybj.example.cn"


async def test_every_personal_v1_answer_is_no_store_and_every_answer_nosniff(client):
    """Generated from the route table: each /v1 operation as its role, whatever it answers (success or problem)."""
    tokens = await role_headers(client)
    failures = []
    for endpoint in ENDPOINTS:
        kwargs = {"json": {}} if endpoint.has_json else {}
        response = await client.request(
            endpoint.method, endpoint.path, headers={**tokens[endpoint.role], "Idempotency-Key": "k1"}, **kwargs
        )
        cache = response.headers.get("cache-control", "")
        if response.headers.get("x-content-type-options") != "nosniff":
            failures.append(f"{endpoint.label}: no nosniff")
        if endpoint.path.startswith("/v1/"):
            if endpoint.label in PUBLIC:
                if "no-store" in cache:
                    failures.append(f"{endpoint.label}: public catalogue marked no-store")
            elif "no-store" not in cache:
                failures.append(f"{endpoint.label} ({response.status_code}): Cache-Control {cache!r}")
    assert not failures, "\n".join(failures)


async def test_token_and_profile_answers_are_no_store(client):
    entry = member_entry(client, "SG0000000001")
    tokens = await login_phone(client, entry["phone"])  # the login answer itself carries the tokens
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    refreshed = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200 and refreshed.headers["cache-control"] == "no-store"
    me = await client.get("/v1/me", headers=bearer)
    assert me.status_code == 200 and me.headers["cache-control"] == "no-store"
    login = await client.post("/v1/auth/staff/login", json={"username": "clerk_zj_dh", "password": "x"})
    assert login.headers["cache-control"] == "no-store"
    catalogue = await client.get("/v1/facilities")
    assert catalogue.status_code == 200 and "no-store" not in catalogue.headers.get("cache-control", "")


async def test_nosniff_outside_the_api_too(client):
    for path in ("/health/live", "/docs/", "/.well-known/jwks.json", "/no/such/path", "/metrics"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
    assert (await client.get("/no/such/path")).status_code == 404


async def test_metrics_are_refused_while_no_token_is_set(client):
    assert_problem(await client.get("/metrics"), 403, "metrics_disabled")


async def _app_client(database, clock, **settings):
    return AsyncTestClient(
        app=create_app(
            msgspec.structs.replace(database["settings"], **settings), clock=clock, engine=database["engine"]
        )
    )


async def test_metrics_need_the_bearer_token(database, world, clock):
    async with await _app_client(database, clock, metrics_token="s3cret-metrics") as scraper:
        missing = assert_problem(await scraper.get("/metrics"), 401, "metrics_unauthorized")
        assert missing["code"] == "metrics_unauthorized"
        wrong = await scraper.get("/metrics", headers={"Authorization": "Bearer s3cret-metricz"})
        assert_problem(wrong, 401, "metrics_unauthorized")
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        right = await scraper.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
        assert right.status_code == 200 and "member_api_requests_total" in right.text


async def test_cors_is_closed_by_default(client):
    simple = await client.get("/v1/facilities", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers
    preflight = await client.options(
        "/v1/me",
        headers={
            "Origin": H5,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers


async def test_cors_allows_only_the_listed_h5_origins(database, world, clock):
    async with await _app_client(database, clock, cors_origins=f"{H5}, https://h5-test.sg-ybj.example.cn") as h5:
        preflight = await h5.options(
            "/v1/counter/settlements",
            headers={
                "Origin": H5,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
            },
        )
        assert preflight.status_code in (200, 204)
        assert preflight.headers["access-control-allow-origin"] == H5
        assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in preflight.headers
        allowed = await h5.get("/v1/facilities", headers={"Origin": H5})
        assert allowed.headers["access-control-allow-origin"] == H5
        assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
        other = await h5.get("/v1/facilities", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        foreign_preflight = await h5.options(
            "/v1/me", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
        assert foreign_preflight.headers.get("access-control-allow-origin") != "https://evil.example"


@pytest.mark.parametrize("value", ["*", "h5.example.cn", "https://h5.example.cn/path"])
def test_a_cors_setting_that_is_not_a_list_of_origins_is_refused(value):
    with pytest.raises(ValueError, match="MEMBER_API_CORS_ORIGINS"):
        _ = Settings(cors_origins=value).cors_origin_list  # read by create_app: the server does not start
