"""Issue 7 (R1, R3, R4, R6, R7, R8, R11, R16): e-credential QR and counter settlement through the HTTP API."""

from __future__ import annotations

import io
import json
import uuid

import jwt
import zxingcpp
from PIL import Image

from member_api.auth.staff import create_staff
from member_api.core import idempotency
from member_api.jobs.demo import DEMO_PASSWORD
from member_api.ledger.tables import BenefitAccount, Movement
from tests.helpers import member_entry, member_headers, staff_headers
from tests.helpers.problems import assert_problem

VISIT = "2026-11-24"


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def credential(client, headers, **params) -> str:
    response = await client.get("/v1/me/credential", headers=headers, params=params)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    return response.json()["token"]


async def settle(client, clerk, *, token=None, id_number=None, expect=201, **bill):
    body = {"visit_date": VISIT, **bill} | ({"credential": token} if token else {"id_number": id_number})
    response = await client.post("/v1/counter/settlements", json=body, headers={**clerk, **key()})
    assert response.status_code == expect, response.text
    return response.json()


async def test_r8_e1_designated_community_centre_by_e_credential(client):
    member = await member_headers(client)
    clerk = await staff_headers(client, "clerk_zj_dh")
    token = await credential(client, member)
    verified = (await client.post("/v1/counter/verify", json={"credential": token}, headers=clerk)).json()
    assert verified["eligible"] and verified["designated_here"] and verified["name_masked"] == "陈**"
    assert verified["remaining_fen"] == 30000 and verified["remaining_out_of_city_fen"] == 6000
    result = await settle(client, clerk, token=token, general_fee_fen=1000, compliant_fen=4000, non_compliant_fen=1500)
    assert (result["fund_fen"], result["member_fen"]) == (3500, 3000)
    assert result["remaining_fen"] == 26500
    assert [line["fund_fen"] for line in result["lines"]] == [700, 2800, 0]
    assert "non_compliant" in result["reasons"]


async def test_e2_designated_village_station(client):
    member = await member_headers(client)
    clerk = await staff_headers(client, "clerk_zj_dh_station")
    result = await settle(
        client, clerk, token=await credential(client, member), general_fee_fen=500, compliant_fen=2000
    )
    assert (result["fund_fen"], result["member_fen"]) == (1750, 750)


async def test_e3_only_ten_yuan_of_the_cap_left(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    first = await settle(client, clerk, id_number=entry["id_number"], compliant_fen=41429)
    assert first["fund_fen"] == 29000 and first["remaining_fen"] == 1000
    client.clock.advance(120)
    result = await settle(
        client, clerk, id_number=entry["id_number"], general_fee_fen=1000, compliant_fen=4000, non_compliant_fen=1500
    )
    assert (result["fund_fen"], result["member_fen"], result["remaining_fen"]) == (1000, 5500, 0)
    assert result["reasons"][-1] == "annual_cap_reached"
    assert result["repeat_same_day"] is True  # R16: the second settlement of the day at one facility


async def test_e5_non_designated_facility_without_referral(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_wj_xh")
    result = await settle(client, clerk, id_number=entry["id_number"], compliant_fen=5000)
    assert (result["fund_fen"], result["member_fen"], result["reasons"]) == (0, 5000, ["not_designated"])


async def test_e6_out_of_city_emergency_within_the_sub_cap(client):
    await create_staff("clerk_guangzhou", DEMO_PASSWORD, "clerk", client.world["facilities"]["out_of_city"])
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_guangzhou")
    first = await settle(client, clerk, id_number=entry["id_number"], compliant_fen=7143, emergency=True)
    assert first["fund_fen"] == 5000 and first["remaining_out_of_city_fen"] == 1000
    result = await settle(client, clerk, id_number=entry["id_number"], compliant_fen=10000, emergency=True)
    assert (result["fund_fen"], result["member_fen"]) == (1000, 9000)
    assert result["reasons"] == ["out_of_city_cap_reached"]
    assert result["remaining_fen"] == 24000 and result["remaining_out_of_city_fen"] == 0


async def test_r1_member_not_paid_up_settles_with_nothing_from_the_fund(client):
    entry = member_entry(client, "SG0000000006")
    clerk = await staff_headers(client, "clerk_zj_dh")
    result = await settle(client, clerk, id_number=entry["id_number"], compliant_fen=1000)
    assert (result["fund_fen"], result["reasons"]) == (0, ["not_eligible"])


async def test_r8_credential_is_single_use(client):
    member = await member_headers(client)
    clerk = await staff_headers(client, "clerk_zj_dh")
    token = await credential(client, member)
    await settle(client, clerk, token=token, compliant_fen=100)
    again = await client.post(
        "/v1/counter/settlements",
        json={"visit_date": VISIT, "credential": token, "compliant_fen": 100},
        headers={**clerk, **key()},
    )
    assert_problem(again, 409, "credential_used")
    assert_problem(await client.post("/v1/counter/verify", json={"credential": token}, headers=clerk), 409)


async def test_credential_expires(client):
    member = await member_headers(client)
    clerk = await staff_headers(client, "clerk_zj_dh")
    token = await credential(client, member)
    client.clock.advance(client.settings.credential_ttl_s)
    expired = await client.post(
        "/v1/counter/settlements", json={"visit_date": VISIT, "credential": token}, headers={**clerk, **key()}
    )
    assert_problem(expired, 401, "credential_expired")
    access = member["Authorization"].split()[1]
    assert_problem(
        await client.post("/v1/counter/verify", json={"credential": access}, headers=clerk), 401, "credential_invalid"
    )


async def test_idempotency_all_four_cases(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    body = {"visit_date": VISIT, "id_number": entry["id_number"], "compliant_fen": 1000}
    assert_problem(
        await client.post("/v1/counter/settlements", json=body, headers=clerk), 400, "idempotency_key_missing"
    )
    same = key()
    first = await client.post("/v1/counter/settlements", json=body, headers={**clerk, **same})
    replay = await client.post("/v1/counter/settlements", json=body, headers={**clerk, **same})
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    assert await Movement.count() == 1
    other = await client.post(
        "/v1/counter/settlements", json={**body, "compliant_fen": 2000}, headers={**clerk, **same}
    )
    assert_problem(other, 422, "idempotency_key_reused")
    running = key()
    raw = json.dumps(body).encode()
    staff_id = jwt.decode(clerk["Authorization"].split()[1], options={"verify_signature": False})["sub"][1:]
    await idempotency.begin(
        f"staff:{staff_id}",
        running["Idempotency-Key"],
        idempotency.fingerprint("POST", "/v1/counter/settlements", raw),
        client.clock.now(),
    )
    concurrent = await client.post(
        "/v1/counter/settlements", content=raw, headers={**clerk, **running, "content-type": "application/json"}
    )
    assert_problem(concurrent, 409, "idempotency_in_progress")
    assert await Movement.count() == 1


async def test_r11_reversal_restores_the_cap_and_keeps_both_records(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    done = await settle(client, clerk, id_number=entry["id_number"], general_fee_fen=1000, compliant_fen=4000)
    assert done["remaining_fen"] == 26500
    other_clerk = await staff_headers(client, "clerk_wj_xh")
    assert_problem(
        await client.post(
            f"/v1/counter/settlements/{done['id']}/reversal",
            json={"reason": "录入错误"},
            headers={**other_clerk, **key()},
        ),
        404,
    )
    reversed_ = await client.post(
        f"/v1/counter/settlements/{done['id']}/reversal", json={"reason": "录入错误"}, headers={**clerk, **key()}
    )
    assert reversed_.status_code == 201, reversed_.text
    assert reversed_.json()["fund_fen"] == -3500 and reversed_.json()["remaining_fen"] == 30000
    assert_problem(
        await client.post(
            f"/v1/counter/settlements/{done['id']}/reversal", json={"reason": "again"}, headers={**clerk, **key()}
        ),
        409,
        "already_reversed",
    )
    assert await Movement.count() == 2
    account = await BenefitAccount.select().first()
    assert account["used_fen"] == 0
    member = await member_headers(client)
    history = (await client.get("/v1/me/settlements", headers=member)).json()["items"]
    assert [h["kind"] for h in history] == ["reversal", "counter"]
    assert history[1]["reversed_by"] == history[0]["id"]


async def test_clerk_acts_only_for_their_facility(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    result = await settle(client, clerk, id_number=entry["id_number"], compliant_fen=1000)
    assert result["facility_name"].startswith("浈江区东河")
    other = await staff_headers(client, "clerk_wj_xh")
    assert_problem(await client.get(f"/v1/me/settlements/{result['id']}", headers=other), 403)
    extra = await client.post(
        "/v1/counter/settlements",
        json={"visit_date": VISIT, "id_number": entry["id_number"], "facility_id": result["facility_id"]},
        headers={**other, **key()},
    )
    assert_problem(extra, 422)


async def test_bad_amounts_are_refused_and_nothing_stored(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    for bad in (
        {"compliant_fen": -1},
        {"compliant_fen": 10**12},
        {"compliant_fen": 1.5},
        {"visit_date": "2026-13-01"},
        {"visit_date": "2027-01-01"},
        {"visit_date": "2019-05-01"},
    ):
        body = {"visit_date": VISIT, "id_number": entry["id_number"], **bad}
        response = await client.post("/v1/counter/settlements", json=body, headers={**clerk, **key()})
        assert response.status_code == 422, (bad, response.text)
    assert await Movement.count() == 0


async def test_qr_png_decodes_to_the_token_and_verifies_with_only_the_jwks(client):
    member = await member_headers(client)
    response = await client.get("/v1/me/credential.png", params={"size": 300}, headers=member)
    assert response.headers["content-type"] == "image/png" and response.headers["cache-control"] == "no-store"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.content)))
    token = decoded[0].text
    jwks = (await client.get("/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(token)
    key_ = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, key_, algorithms=["EdDSA"], audience="c", options={"verify_exp": False})
    assert set(claims) == {"sub", "jti", "exp", "aud"}
    assert member_entry(client, "SG0000000001")["id_number"] not in token
    clerk = await staff_headers(client, "clerk_zj_dh")
    assert (await client.post("/v1/counter/verify", json={"credential": token}, headers=clerk)).status_code == 200
    svg = await client.get("/v1/me/credential.svg", headers=member)
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<path" in svg.content


async def test_guardian_gets_a_dependants_credential(client):
    guardian = await member_headers(client, "SG0000000004")
    newborn = (await client.get("/v1/me/dependants", headers=guardian)).json()[0]
    token = await credential(client, guardian, member_id=newborn["id"])
    clerk = await staff_headers(client, "clerk_zj_dh")
    verified = (await client.post("/v1/counter/verify", json={"credential": token}, headers=clerk)).json()
    assert verified["name_masked"] == "张**" and verified["age"] == 0
