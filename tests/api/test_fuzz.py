"""Issue 10: schemathesis fuzzes every operation of the committed OpenAPI document, as each role.

Checks: no 5xx, responses match their documented schemas, status codes and content types are documented,
invalid data is rejected. Left out: ``positive_data_acceptance`` (business rules such as "a station run
by the chosen institution" refuse schema-valid bodies with a 4xx by design), ``unsupported_method`` and
``allow_header_conformance`` (litestar's automatic OPTIONS handler keeps the route object of the first
handler registered on a path, so its ``Allow`` omits the other methods of a path shared by GET and POST).
"""

from __future__ import annotations

import asyncio
import json
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
        for role, username in (("clerk", "clerk_zj_dh"), ("reviewer", "reviewer_agency")):
            response = await http.post("/v1/auth/staff/login", json={"username": username, "password": DEMO_PASSWORD})
            staff[role] = response.json()["access_token"]
    return {"member": token, **staff, "anonymous": ""}


def _fuzz(url: str, token: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """One role's run; schemathesis keeps its cache under ``workdir``, so no run replays another's."""
    args = [
        str(ST),
        "run",
        str(ROOT / "openapi" / "openapi.json"),
        "--url",
        url,
        "-n",
        str(EXAMPLES),
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance,unsupported_method,allow_header_conformance",
        "--seed",
        "20261124",
        "--request-timeout",
        "30",
    ]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    return subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=workdir)


@pytest.mark.parametrize("kind", ["sqlite"])
async def test_schemathesis_finds_nothing_as_any_role(kind, tmp_path):
    async with running_server(kind, tmp_path, workers=1) as server:
        tokens = await _tokens(server.url, tmp_path)
        for role, token in tokens.items():
            result = await asyncio.to_thread(_fuzz, server.url, token, tmp_path)
            assert result.returncode == 0, f"{role}:\n{result.stdout[-6000:]}"
        log = (tmp_path / "server.log").read_text()
        assert "unhandled_error" not in log, log[-3000:]
