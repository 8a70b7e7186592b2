"""The runnable examples of docs/integration.md run as written against a real server (R8 counter flow, the QR
offline check): a guide whose code no longer works fails here, not at a partner's desk."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.serverproc import running_server

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integration.md"
EXAMPLE = re.compile(r"```python\n# example: (\w+)[^\n]*\n.*?```", re.S)


def examples() -> dict[str, str]:
    return {m[1]: m[0].removeprefix("```python\n").removesuffix("```") for m in EXAMPLE.finditer(GUIDE.read_text())}


def run(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_guide_has_its_three_examples():
    assert set(examples()) == {"app_flow", "counter_flow", "offline_check"}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_integration_guide_examples_run_against_a_server(kind, tmp_path):
    code = examples()
    async with running_server(kind, tmp_path, workers=1) as server:
        env = {
            **os.environ,
            "MEMBER_API_URL": server.url,
            "MEMBER_API_SMS_FILE": str(tmp_path / "sms.jsonl"),
            "JWKS_CACHE": str(tmp_path / "jwks-cache.json"),
        }
        app = await asyncio.to_thread(run, code["app_flow"], env)
        assert app.returncode == 0, app.stdout + app.stderr
        assert "remaining this year: 300.00 CNY" in app.stdout
        token = app.stdout.strip().splitlines()[-1]
        checked = await asyncio.to_thread(run, code["offline_check"], env, token)
        assert checked.returncode == 0 and checked.stdout.startswith("valid e-credential"), checked.stderr
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        refused = await asyncio.to_thread(run, code["offline_check"], env, forged)
        assert refused.returncode == 1 and "not a valid e-credential" in refused.stderr
        counter = await asyncio.to_thread(run, code["counter_flow"], env)
        assert counter.returncode == 0, counter.stdout + counter.stderr
        assert "fund pays 35.00, collect 15.00 CNY" in counter.stdout  # E1 without the non-compliant part
        assert "remaining 300.00 CNY" in counter.stdout
