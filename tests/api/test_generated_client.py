"""Issue 18 item 3: a Python client generated from the committed OpenAPI document drives a real server.

``openapi-python-client`` generates the client with no warning (``--fail-on-warning``); the test imports it and
goes login -> bind -> e-credential -> counter settlement (R8, E1 of DOMAIN.md) -> history, through it alone.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest

from member_api.jobs.demo import DEMO_PASSWORD
from tests.helpers.serverproc import running_server

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "member_api_client"


def _document(into: Path) -> Path:
    """The committed document, with CSV upload bodies declared as the binary bodies the generator supports (it has
    no ``text/csv`` request body; a generated client sends the file's bytes either way)."""
    document = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    for operations in document["paths"].values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            if "text/csv" in content:
                content.pop("text/csv")
                content["application/octet-stream"] = {"schema": {"type": "string", "format": "binary"}}
    path = into / "openapi.json"
    path.write_text(json.dumps(document))
    return path


def _generate(into: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(_document(into)),
            "--config",
            str(ROOT / "openapi" / "python-client.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(into / PACKAGE),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=into,
        # the generator formats its output with ruff, which lives beside it
        env={**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )


def _import(into: Path, name: str) -> ModuleType:
    sys.path.insert(0, str(into))
    try:
        return importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(into))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    into = tmp_path_factory.mktemp("client")
    done = _generate(into)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output
    yield into
    for module in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[module]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_r8_generated_client_logs_in_binds_settles_and_reads_history(kind, tmp_path, generated):
    client_module = _import(generated, "client")
    models = _import(generated, "models")
    operations = ["auth.send_login_code", "auth.login", "auth.login_staff", "me.bind_record"]
    operations += ["credential.get_credential", "counter.settle_visit", "benefits.list_settlements"]
    api = {name: _import(generated, f"api.{name}") for name in [*operations, "benefits.get_benefits"]}
    async with running_server(kind, tmp_path, workers=1) as server:
        manifest = json.loads((tmp_path / "manifest.json").read_text())
        member = next(m for m in manifest["members"] if m["insurance_no"] == "SG0000000001")
        anonymous = client_module.Client(base_url=server.url, raise_on_unexpected_status=True)

        sent = await api["auth.send_login_code"].asyncio_detailed(
            client=anonymous, body=models.OtpRequest(phone=member["phone"])
        )
        assert sent.status_code == 202
        code = json.loads((tmp_path / "sms.jsonl").read_text().splitlines()[-1])["code"]
        tokens = await api["auth.login"].asyncio(
            client=anonymous, body=models.LoginRequest(phone=member["phone"], code=code)
        )
        assert isinstance(tokens, models.TokenPair), tokens
        resident = client_module.AuthenticatedClient(base_url=server.url, token=tokens.access_token)

        me = await api["me.bind_record"].asyncio(
            client=resident, body=models.BindingRequest(id_number=member["id_number"], name=member["name"])
        )
        assert isinstance(me, models.MeView) and me.bound, me
        credential = await api["credential.get_credential"].asyncio(client=resident)
        assert isinstance(credential, models.Credential) and credential.eligible, credential
        before = await api["benefits.get_benefits"].asyncio(client=resident)
        assert isinstance(before, models.Benefits), before

        staff = await api["auth.login_staff"].asyncio(
            client=anonymous, body=models.StaffLoginRequest(username="clerk_zj_dh", password=DEMO_PASSWORD)
        )
        clerk = client_module.AuthenticatedClient(base_url=server.url, token=staff.access_token)
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        bill = models.SettlementRequest(
            visit_date=today,
            credential=credential.token,
            general_fee_fen=1000,
            compliant_fen=4000,
            non_compliant_fen=1500,
        )
        key = str(uuid.uuid4())
        settled = await api["counter.settle_visit"].asyncio(client=clerk, body=bill, idempotency_key=key)
        assert isinstance(settled, models.SettlementResult), settled
        assert (settled.fund_fen, settled.member_fen) == (3500, 3000)  # E1: the designated township centre
        replay = await api["counter.settle_visit"].asyncio_detailed(client=clerk, body=bill, idempotency_key=key)
        assert replay.parsed.id == settled.id and replay.headers["idempotent-replayed"] == "true"

        history = await api["benefits.list_settlements"].asyncio(client=resident)
        assert isinstance(history, models.SettlementPage), history
        assert [s.id for s in history.items] == [settled.id]
        assert history.items[0].kind == "counter" and history.items[0].fund_fen == 3500
        after = await api["benefits.get_benefits"].asyncio(client=resident)
        assert after.remaining_fen == before.remaining_fen - 3500
