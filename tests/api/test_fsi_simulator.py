"""The facility simulator (``member-api fsi-simulate``) drives whole visits over the envelope against a real server
process (granian workers) on SQLite and PostgreSQL: by ID number, and by the national e-credential resolved through a
fake decoding service speaking the platform's ``ec.query`` shape (R8). Credentials come from the CLI (#28 item 2).
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.ecfake import PAAS_ID, PAAS_TOKEN, FakeDecoder
from tests.helpers.serverproc import running_server

NATIONAL_CODE = "440200QRSIM" + "3" * 21


def simulate(server: Any, credential: str, facility: str, *args: str) -> list[dict[str, Any]]:
    out = server.cli(
        "fsi-simulate", "--url", server.url, "--credential", credential, "--facility", facility, "--json", *args
    )
    return json.loads(out, parse_float=Decimal)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_r8_simulator_drives_whole_visits_against_a_real_server(kind: str, tmp_path: Path) -> None:
    manifest_file = tmp_path / "manifest.json"
    with FakeDecoder({}) as decoder:
        extra = {
            "MEMBER_API_NATIONAL_EC_URL": decoder.url,
            "MEMBER_API_NATIONAL_EC_PAAS_ID": PAAS_ID,
            "MEMBER_API_NATIONAL_EC_PAAS_TOKEN": PAAS_TOKEN,
        }
        async with running_server(kind, tmp_path, workers=2, env=lambda _: extra) as server:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
            holder = next(m for m in manifest["members"] if m["insurance_no"] == "SG0000000001")
            decoder.codes[NATIONAL_CODE] = {"id_number": holder["id_number"], "name": holder["name"]}
            facility = manifest["facilities"]["designated_institution"]
            issued = await asyncio.to_thread(server.cli, "fsi-credential", "issue", "--facility", facility)
            credential = issued.strip().splitlines()[0]

            by_id = await asyncio.to_thread(simulate, server, credential, facility, "--cert-no", holder["id_number"])
            assert [step["infno"] for step in by_id] == [
                "9001", "1101", "2201", "2204", "2206", "2207", "5203", "2208", "3201",
            ]  # fmt: skip
            assert all(step["answer"]["infcode"] == 0 for step in by_id), by_id
            answers = {step["infno"]: step["answer"]["output"] for step in by_id}
            settled = answers["2207"]["setlinfo"]
            assert settled["fund_pay_sumamt"] == Decimal("49.70") and settled["medfee_sumamt"] == Decimal("95.00")
            assert answers["5203"]["setlinfo"]["setl_id"] == settled["setl_id"]
            assert answers["2208"]["setlinfo"]["fund_pay_sumamt"] == Decimal("-49.70")
            assert answers["3201"]["stmtinfo"]["stmt_rslt"] == "0", answers["3201"]

            national = await asyncio.to_thread(
                simulate, server, credential, facility, "--cert-type", "01", "--cert-no", NATIONAL_CODE, "--keep"
            )
            assert all(step["answer"]["infcode"] == 0 for step in national), national
            assert national[1]["answer"]["output"]["baseinfo"]["psn_no"] == "SG0000000001"
            assert decoder.requests and decoder.requests[0]["body"]["transType"] == "ec.query"

            client_id = credential.split(".")[0]
            await asyncio.to_thread(server.cli, "fsi-credential", "revoke", client_id)
            with pytest.raises(Exception):  # the CLI exits 1 when the visit fails
                await asyncio.to_thread(simulate, server, credential, facility, "--cert-no", holder["id_number"])
