"""Issue 14: the hostile-byte catalogue, generated from the app's route table, on both databases.

Every route × {a control character in each query parameter (declared or not), in the Idempotency-Key header,
in every string field of its JSON body, in every text field and file name of its form; invalid UTF-8 in its
JSON body or form; a string where its body has a number or a boolean}. Each answer is a 4xx problem+json
naming the field, never a 5xx, and nothing is stored. A route added later joins the catalogue by itself.
"""

from __future__ import annotations

import re
import typing
import uuid
from typing import Any

import msgspec
import pytest

from member_api.piccolo_app import APP_CONFIG
from tests.helpers import member_headers
from tests.helpers.files import png_bytes
from tests.helpers.problems import assert_problem
from tests.helpers.routes import Endpoint, nest, role_headers, route_table

ENDPOINTS = route_table()


def test_the_catalogue_covers_the_api():
    """Guards the generator itself: if it stopped finding fields, every case below would pass vacuously."""
    labels = {e.label for e in ENDPOINTS}
    assert {"POST /v1/counter/settlements", "GET /v1/facilities", "POST /v1/me/claims/1/receipts"} <= labels
    assert sum(len(e.json_strings) for e in ENDPOINTS) >= 20
    assert sum(len(e.json_scalars) for e in ENDPOINTS) >= 15
    assert sum(len(e.query) for e in ENDPOINTS) >= 20
    assert any("items[0].compliant_fen" == p for e in ENDPOINTS for p, _ in e.json_scalars)
    assert any("reason_text" in e.form_text for e in ENDPOINTS) and any(e.form_files for e in ENDPOINTS)


async def _tables() -> dict[str, int]:
    # Raw SQL: a table with a column named ``count`` (bill lines) hides piccolo's ``Table.count``.
    counts = {}
    for t in APP_CONFIG.table_classes:
        [row] = await t.raw(f'SELECT count(*) AS n FROM "{t._meta.tablename}"')
        counts[t._meta.tablename] = row["n"]
    return counts


def _multipart(parts: list[tuple[str, bytes | None, bytes]]) -> tuple[bytes, str]:
    """A hand-built multipart body (httpx would escape the control characters these cases need)."""
    boundary = "hostile" + uuid.uuid4().hex
    chunks = []
    for name, filename, content in parts:
        disposition = b'form-data; name="' + name.encode() + b'"'
        head = b"Content-Disposition: " + disposition
        if filename is not None:
            head += b'; filename="' + filename + b'"\r\nContent-Type: image/png'
        chunks.append(b"--" + boundary.encode() + b"\r\n" + head + b"\r\n\r\n" + content + b"\r\n")
    body = b"".join(chunks) + b"--" + boundary.encode() + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"


def _cases(kind: str, endpoint: Endpoint) -> typing.Iterator[tuple[str, dict[str, Any], int, str, str | None]]:
    """(case, request kwargs, status, code, field named in errors[])."""
    if kind == "query":
        for name in [*endpoint.query, "probe"]:
            for raw in ("a%00b", "%1b%5b31m", "x%7f"):
                yield f"{name}={raw}", {"url": f"{endpoint.path}?{name}={raw}"}, 422, "control_character", name
        yield "query not UTF-8", {"url": f"{endpoint.path}?probe=%ff%fe"}, 400, "malformed_query", None
    elif kind == "header" and endpoint.method == "POST":
        headers = {"Idempotency-Key": f"{uuid.uuid4()}\x00"}
        yield "Idempotency-Key NUL", {"headers": headers}, 422, "control_character", "Idempotency-Key"
    elif kind == "json_utf8" and endpoint.has_json:
        first = endpoint.json_strings[0] if endpoint.json_strings else "x"
        raw = msgspec.json.encode(nest(first, "PLACEHOLDER")).replace(b"PLACEHOLDER", b"\xff\xfe")
        yield "invalid UTF-8", {"content": raw}, 400, "malformed_json", None
        yield "invalid UTF-8 key", {"content": b'{"\xc3\x28": 1}'}, 400, "malformed_json", None
    elif kind == "json_control" and endpoint.has_json:
        for path in endpoint.json_strings:
            for char in ("\x00", "\x1b", "\x7f"):
                body = msgspec.json.encode(nest(path, f"a{char}b"))
                yield f"{path} {char!r}", {"content": body}, 422, "control_character", path
    elif kind == "json_types" and endpoint.has_json:
        for path, value in endpoint.json_scalars:
            body = msgspec.json.encode(nest(path, value))
            yield f"{path} as string {value!r}", {"content": body}, 422, "validation_error", path
    elif kind == "form" and (endpoint.form_text or endpoint.form_files):
        png = png_bytes()
        files = [(name, b"receipt.png", png) for name in endpoint.form_files]
        for name in endpoint.form_text:
            body, ctype = _multipart([(name, None, b"1\x00"), *files])
            form = {"content": body, "headers": {"content-type": ctype}}
            yield f"{name} NUL", form, 422, "control_character", name
            body, ctype = _multipart([(name, None, b"\xff\xfe"), *files])
            form = {"content": body, "headers": {"content-type": ctype}}
            yield f"{name} not UTF-8", form, 400, "malformed_form", None
        for name in endpoint.form_files:
            for bad_name in (b"a\x00.png", b"a\x01b.png", b"\x1b[2J.png"):
                body, ctype = _multipart([(name, bad_name, png)])
                expected = f"{name}[0].filename"
                kwargs = {"content": body, "headers": {"content-type": ctype}}
                yield f"{name} filename {bad_name!r}", kwargs, 422, "control_character", expected


WEB_AREAS = ("/app", "/console")
_PAGE_PROBLEM = re.compile(r'data-problem="([a-z_]+)"')


def _web(endpoint: Endpoint) -> bool:
    return any(endpoint.path == area or endpoint.path.startswith(area + "/") for area in WEB_AREAS)


def _refusal(response) -> tuple[int, str, list[str]]:
    """(status, code, fields named) of a problem+json, of an OperationOutcome under /fhir, or of a web page's
    refusal in words (its code in ``data-problem``; the fields are marked on the form, not listed)."""
    if response.headers.get("content-type", "").startswith("text/html"):
        assert "Traceback" not in response.text and 400 <= response.status_code < 500, response.text[:300]
        found = _PAGE_PROBLEM.search(response.text)
        return response.status_code, found.group(1) if found else "", []
    if response.headers.get("content-type", "").startswith("application/fhir+json"):
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome" and response.status_code < 500
        code = outcome["issue"][0]["details"]["coding"][0]["code"]
        return response.status_code, code, [e for issue in outcome["issue"] for e in issue.get("expression", [])]
    body = assert_problem(response, response.status_code)
    return response.status_code, body["code"], [e["field"] for e in body.get("errors") or []]


KINDS = ["query", "header", "json_utf8", "json_control", "json_types", "form"]


@pytest.mark.parametrize("kind", KINDS)
async def test_hostile_bytes_are_refused_on_every_route(client, kind):
    tokens = await role_headers(client)
    before = await _tables()
    failures, ran = [], 0
    for endpoint in ENDPOINTS:
        for case, kwargs, status, code, field_name in _cases(kind, endpoint):
            ran += 1
            headers = {**tokens[endpoint.role], "Idempotency-Key": str(uuid.uuid4())}
            if "content" in kwargs:
                headers["content-type"] = "application/json"
            headers.update(kwargs.get("headers", {}))
            response = await client.request(
                endpoint.method, kwargs.get("url", endpoint.path), content=kwargs.get("content"), headers=headers
            )
            try:
                if _web(endpoint) and endpoint.method != "GET":
                    # A page's form post without its CSRF token is refused before anything is read, in words.
                    assert (response.status_code, _refusal(response)[1]) == (403, "csrf_failed"), response.text[:300]
                    continue
                if endpoint.guarded:
                    assert 400 <= response.status_code < 500
                    assert_problem(response, response.status_code)
                    continue
                got_status, got_code, fields = _refusal(response)
                if endpoint.path.startswith("/fhir/"):  # FHIR answers a bad search with 400 (an OperationOutcome)
                    status = 400 if status == 422 else status
                assert (got_status, got_code) == (status, code), response.text[:300]
                if field_name is not None and not _web(endpoint):
                    assert field_name in fields, response.text[:300]
            except AssertionError as exc:
                failures.append(f"{endpoint.label} [{case}]: {response.status_code} {str(exc)[:300]}")
    assert ran > 0
    assert not failures, f"{len(failures)} of {ran} cases:\n" + "\n".join(failures[:40])
    assert await _tables() == before


@pytest.mark.parametrize("kind", KINDS)
async def test_without_credentials_every_hostile_case_is_401(client, kind):
    """Credentials come before input: a route that needs a token answers 401 without one, whatever its query,
    headers or body hold (an anonymous upload is not even parsed), as a client fixes its login first."""
    failures, ran = [], 0
    for endpoint in ENDPOINTS:
        if endpoint.role is None or _web(endpoint):
            continue
        for case, kwargs, _, _, _ in _cases(kind, endpoint):
            ran += 1
            headers = {"Idempotency-Key": str(uuid.uuid4())}
            if "content" in kwargs:
                headers["content-type"] = "application/json"
            headers.update(kwargs.get("headers", {}))
            response = await client.request(
                endpoint.method, kwargs.get("url", endpoint.path), content=kwargs.get("content"), headers=headers
            )
            if _refusal(response)[:2] != (401, "unauthorized"):
                failures.append(f"{endpoint.label} [{case}]: {response.status_code} {response.text[:200]}")
    assert ran > 0
    assert not failures, f"{len(failures)} of {ran} cases:\n" + "\n".join(failures[:40])


async def test_options_on_every_path_is_answered(client):
    """litestar's automatic OPTIONS handler passes the app's before_request too (a plain handler, not ours)."""
    for path in sorted({e.path for e in ENDPOINTS if not _web(e)}):
        response = await client.options(path)
        assert response.status_code < 500, (path, response.status_code, response.text[:200])


async def test_issue_26_bounds_that_answered_500_are_refused_or_served(client):
    """Found from outside: ``_lastUpdated`` at the ends of the calendar overflowed (500), and marking every notice
    read bound 2**62 to an int4 column on PostgreSQL (500)."""
    member = await member_headers(client)
    me = (await client.get("/v1/me", headers=member)).json()
    patient = me["member"]["id"]
    for value in ("le9999-12-31", "ge0001-01-01", "gt9999", "lt0001-01-01T00:00:00Z"):
        response = await client.get(
            "/fhir/R4/ExplanationOfBenefit", params={"patient": patient, "_lastUpdated": value}, headers=member
        )
        status, code, _ = _refusal(response)
        assert (status, code) == (400, "invalid_search"), (value, response.text[:300])
    marked = await client.post("/v1/me/notices/read", json={}, headers=member)
    assert marked.status_code == 200, marked.text
    too_far = await client.post("/v1/me/notices/read", json={"up_to_id": 2**62}, headers=member)
    assert_problem(too_far, 422, "validation_error")
