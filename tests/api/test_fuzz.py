"""Issues 10 and 18: schemathesis fuzzes every operation of the committed OpenAPI document, as each role.

Checks: no 5xx, responses match their documented schemas, status codes and content types are documented, every
problem's ``code`` is one the operation lists (tests/helpers/fuzz_hooks.py), invalid data is rejected, and
schema-valid data is accepted (``positive_data_acceptance``): a 422 is allowed only on operations that document
a business rule JSON Schema cannot state (an ID number's check digit, a designated pair of R2, a claim window, a
control character in free text), read from the document itself. Left out: ``unsupported_method`` and
``allow_header_conformance`` (litestar's automatic OPTIONS handler keeps the route object of the first handler
registered on a path, so its ``Allow`` omits the other methods of a path shared by GET and POST).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from member_api.jobs.demo import DEMO_PASSWORD
from tests.helpers.serverproc import running_server

ROOT = Path(__file__).resolve().parents[2]
ST = Path(sys.executable).parent / "st"
EXAMPLES = 6
PROBLEM = "application/problem+json"
# schemathesis' default for schema-valid data: refusals for missing rights, rows or rate are fine, 400/422 are not.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]


async def _tokens(url: str, data_dir: Path) -> dict[str, str]:
    manifest = json.loads((data_dir / "manifest.json").read_text())
    member = manifest["members"][0]
    async with httpx.AsyncClient(base_url=url) as http:
        await http.post("/v1/auth/otp", json={"phone": member["phone"]})
        lines = (data_dir / "sms.jsonl").read_text().splitlines()
        code = json.loads(lines[-1])["code"]
        access = (await http.post("/v1/auth/login", json={"phone": member["phone"], "code": code})).json()
        token = access["access_token"]
        await http.post(
            "/v1/me/binding",
            json={"id_number": member["id_number"], "name": member["name"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        staff = {}
        for role, username in (
            ("clerk", "clerk_zj_dh"),
            ("reviewer", "reviewer_agency"),
            ("officer", "officer_agency"),
        ):
            response = await http.post("/v1/auth/staff/login", json={"username": username, "password": DEMO_PASSWORD})
            staff[role] = response.json()["access_token"]
    return {"member": token, **staff, "anonymous": ""}


def _business_rule_operations(document: dict) -> list[str]:
    """Operations whose 422 lists a code besides ``validation_error``: rules beyond what the schema states.
    ``control_character`` counts only where a schema-valid request can hold one."""
    found = []
    for operations in document["paths"].values():
        for operation in operations.values():
            codes = set(operation["responses"].get("422", {}).get("content", {}).get(PROBLEM, {}).get("examples", {}))
            codes -= {"validation_error", "idempotency_key_reused"}
            if not _admits_control_characters(operation, document):
                codes.discard("control_character")
            if codes:
                found.append(operation["operationId"])
    return sorted(found)


def _admits_control_characters(operation: dict, document: dict) -> bool:
    """A body (free text), or a query parameter that is a string without a pattern, enum or format."""
    query = [p.get("schema", {}) for p in operation.get("parameters", []) if p["in"] == "query"]
    return "requestBody" in operation or any(_free_text(schema, document) for schema in query)


def _free_text(schema: dict, document: dict) -> bool:
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    options = [*schema.get("oneOf", []), *schema.get("anyOf", []), *schema.get("allOf", [])]
    if options:
        return any(_free_text(option, document) for option in options)
    return schema.get("type") == "string" and not {"pattern", "enum", "format", "const"} & set(schema)


def _multipart_operations(document: dict) -> list[str]:
    return sorted(
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
        if "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
    )


def _config(workdir: Path) -> Path:
    """Per operation: 422 for business rules; 400 for multipart bodies, as schemathesis sends a file as a part
    without a filename, which the server reads as text (400 ``malformed_body`` when it is not UTF-8)."""
    document = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    business, multipart = _business_rule_operations(document), _multipart_operations(document)
    lines = []
    for operation_id in sorted({*business, *multipart}):
        accepted = [
            *ACCEPTED,
            *(["422"] if operation_id in business else []),
            *(["400"] if operation_id in multipart else []),
        ]
        lines += [
            "[[operations]]",
            f'include-operation-id = "{operation_id}"',
            f"checks.positive_data_acceptance.expected-statuses = {json.dumps(accepted)}",
            "",
        ]
    path = workdir / "schemathesis.toml"
    path.write_text("\n".join(lines))
    return path


def _fuzz(url: str, token: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """One role's run; schemathesis keeps its cache under ``workdir``, so no run replays another's."""
    args = [
        str(ST),
        "--config-file",
        str(_config(workdir)),
        "run",
        str(ROOT / "openapi" / "openapi.json"),
        "--url",
        url,
        "-n",
        str(EXAMPLES),
        "--checks",
        "all",
        "--exclude-checks",
        "unsupported_method,allow_header_conformance",
        "--seed",
        "20261124",
        "--request-timeout",
        "30",
    ]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(ROOT / "tests" / "helpers" / "fuzz_hooks.py")}
    return subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=workdir, env=env)


@pytest.mark.parametrize("kind", ["sqlite"])
async def test_schemathesis_finds_nothing_as_any_role(kind, tmp_path):
    async with running_server(kind, tmp_path, workers=1) as server:
        tokens = await _tokens(server.url, tmp_path)
        for role, token in tokens.items():
            result = await asyncio.to_thread(_fuzz, server.url, token, tmp_path)
            assert result.returncode == 0, f"{role}:\n{result.stdout[-6000:]}"
        log = (tmp_path / "server.log").read_text()
        assert "unhandled_error" not in log, log[-3000:]
