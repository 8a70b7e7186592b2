"""Issue 10: settlements and claims keep their guarantees while the server is SIGKILLed and restarted.

Small in CI; ``MEMBER_API_CRASH_ROUNDS=10 MEMBER_API_CRASH_CLIENTS=32`` for the heavy variant.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import uuid
from pathlib import Path

import asyncpg
import httpx
from PIL import Image

from member_api.core.storage import BlobStore
from member_api.jobs.demo import DEMO_PASSWORD
from tests.helpers.serverproc import running_server

ROUNDS = int(os.environ.get("MEMBER_API_CRASH_ROUNDS", "3"))
CLIENTS = int(os.environ.get("MEMBER_API_CRASH_CLIENTS", "12"))


def _png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (seed % 256, (seed // 256) % 256, 7)).save(out, format="PNG")
    return out.getvalue()


async def test_crash_restart_keeps_every_acknowledged_write_once_and_caps_intact(tmp_path):
    async with running_server("postgres", tmp_path, workers=2) as server:
        manifest = json.loads((tmp_path / "manifest.json").read_text())
        members = [m for m in manifest["members"] if m["paid_up_this_year"] and m["phone"]]
        today = manifest["today"]
        url = server.env["MEMBER_API_DATABASE_URL"]
        acknowledged: list[int] = []
        receipts_acknowledged: list[int] = []
        stop = asyncio.Event()

        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            clerk = {
                "Authorization": "Bearer "
                + (
                    await http.post("/v1/auth/staff/login", json={"username": "clerk_zj_dh", "password": DEMO_PASSWORD})
                ).json()["access_token"]
            }
            otp = await http.post("/v1/auth/otp", json={"phone": members[0]["phone"]})
            assert otp.status_code == 202
            code = json.loads((tmp_path / "sms.jsonl").read_text().splitlines()[-1])["code"]
            member = {
                "Authorization": "Bearer "
                + (await http.post("/v1/auth/login", json={"phone": members[0]["phone"], "code": code})).json()[
                    "access_token"
                ]
            }
            await http.post(
                "/v1/me/binding",
                headers=member,
                json={"id_number": members[0]["id_number"], "name": members[0]["name"]},
            )
            hospital = (await http.get("/v1/facilities", params={"q": "粤北人民医院"})).json()["items"][0]["id"]
            referral_key = str(uuid.uuid4())  # the clerk's one other keyed request: left out of the count below
            referral = (
                await http.post(
                    "/v1/counter/referrals",
                    headers={**clerk, "Idempotency-Key": referral_key},
                    json={
                        "id_number": members[0]["id_number"],
                        "target_facility_id": hospital,
                        "valid_from": today,
                        "valid_to": today,
                    },
                )
            ).json()

            async def settle_forever(n: int) -> None:
                rng = random.Random(n)
                while not stop.is_set():
                    key, who = str(uuid.uuid4()), rng.choice(members)
                    body = {"visit_date": today, "id_number": who["id_number"], "compliant_fen": rng.randint(100, 3000)}
                    for _ in range(20):  # retry the same key across restarts, as a counter terminal would
                        try:
                            response = await http.post(
                                "/v1/counter/settlements", json=body, headers={**clerk, "Idempotency-Key": key}
                            )
                        except httpx.HTTPError:
                            await asyncio.sleep(0.2)
                            continue
                        if response.status_code == 201:
                            acknowledged.append(response.json()["id"])
                            break
                        if response.status_code != 409:
                            break
                        await asyncio.sleep(0.2)

            async def claim_forever(n: int) -> None:
                seq = 0
                while not stop.is_set():
                    seq += 1
                    try:
                        claim = await http.post(
                            "/v1/me/claims",
                            headers={**member, "Idempotency-Key": str(uuid.uuid4())},
                            json={
                                "kind": "referral",
                                "referral_id": referral["id"],
                                "items": [{"care_date": today, "facility_id": hospital, "compliant_fen": 500}],
                            },
                        )
                        if claim.status_code != 201:
                            continue
                        body = claim.json()
                        upload = await http.post(
                            f"/v1/me/claims/{body['id']}/receipts",
                            headers={**member, "Idempotency-Key": str(uuid.uuid4())},
                            data={"item_id": str(body["items"][0]["id"])},
                            files=[("files", ("r.png", _png(n * 10_000 + seq), "image/png"))],
                        )
                        if upload.status_code == 201:
                            receipts_acknowledged.extend(r["id"] for r in upload.json()["items"][0]["receipts"])
                            await http.post(f"/v1/me/claims/{body['id']}/submit", headers=member)
                    except httpx.HTTPError:
                        await asyncio.sleep(0.2)

            workers = [asyncio.create_task(settle_forever(i)) for i in range(CLIENTS)]
            workers += [asyncio.create_task(claim_forever(i)) for i in range(max(2, CLIENTS // 4))]
            for _ in range(ROUNDS):
                await asyncio.sleep(1.5)
                server.kill()
                await asyncio.to_thread(server.start)
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.gather(*workers)
        server.kill()

        assert acknowledged, "no settlement got through: the test proved nothing"
        conn = await asyncpg.connect(url)
        try:
            ids = [r["id"] for r in await conn.fetch("SELECT id FROM movement WHERE id = ANY($1::int[])", acknowledged)]
            assert sorted(ids) == sorted(set(acknowledged)) and len(acknowledged) == len(set(acknowledged))
            done = await conn.fetchval(
                "SELECT count(*) FROM idempotency_record WHERE state = 'done' AND scope LIKE 'staff:%' AND key <> $1",
                referral_key,
            )
            rows = await conn.fetchval("SELECT count(*) FROM movement WHERE kind = 'counter'")
            assert rows == done  # no key settled twice, however often it was retried across restarts
            accounts = await conn.fetch(
                "SELECT a.member, a.used_fen, a.used_out_of_city_fen, COALESCE(SUM(s.fund_fen), 0) AS moved "
                "FROM benefit_account a LEFT JOIN movement s ON s.member = a.member AND s.year = a.year "
                "GROUP BY a.id"
            )
            for account in accounts:
                assert 0 <= account["used_fen"] <= 30000 and account["used_out_of_city_fen"] <= 6000
                assert account["moved"] == account["used_fen"], dict(account)
            receipt_rows = await conn.fetch("SELECT id, sha256 FROM receipt")
        finally:
            await conn.close()
        assert set(receipts_acknowledged) <= {r["id"] for r in receipt_rows}
        store = BlobStore(Path(server.data_dir) / "blobs")
        await asyncio.to_thread(server.cli, "gc-blobs", "--min-age-s", "0")
        files = {p.name for p in store.stored()}
        assert files == {r["sha256"] for r in receipt_rows}
        assert store.stray_temp_files() == []
