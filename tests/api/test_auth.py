"""Issue 5: SMS login, binding, rotating refresh tokens, JWT attacks, limits, dependants, no PII in logs."""

from __future__ import annotations

import base64
import json
import logging

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from member_api.auth.tokens import access_token
from member_api.core.keys import load_keyring
from tests.helpers import login_phone, member_entry, member_headers, staff_headers
from tests.helpers.databases import last_sms_code
from tests.helpers.problems import assert_problem


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_bind_refresh_logout_flow(client):
    entry = member_entry(client, "SG0000000001")
    tokens = await login_phone(client, entry["phone"])
    me = (await client.get("/v1/me", headers=bearer(tokens["access_token"]))).json()
    assert me == {"phone_masked": "138****0001", "bound": False, "member": None}
    bound = await client.post(
        "/v1/me/binding",
        json={"id_number": entry["id_number"], "name": entry["name"]},
        headers=bearer(tokens["access_token"]),
    )
    member = bound.json()["member"]
    assert member["insurance_no"] == "SG0000000001"
    assert member["id_number_masked"] == entry["id_number"][:4] + "*" * 10 + entry["id_number"][-4:]
    assert entry["id_number"] not in bound.text
    assert {e["year"] for e in member["enrollments"]} == {2025, 2026}

    rotated = (await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert (await client.get("/v1/me", headers=bearer(rotated["access_token"]))).status_code == 200

    out = await client.post(
        "/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]}, headers=bearer(rotated["access_token"])
    )
    assert out.status_code == 204
    assert_problem(
        await client.post("/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}), 401, "refresh_invalid"
    )


async def test_refresh_reuse_revokes_the_whole_family(client):
    tokens = await login_phone(client, "13800000002")
    second = (await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()
    reuse = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(reuse, 401, "refresh_reused")
    assert_problem(await client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}), 401)


async def test_otp_guessing_stops_after_five_tries(client):
    await client.post("/v1/auth/otp", json={"phone": "13800000003"})
    code = last_sms_code(client.settings, "13800000003")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert_problem(
            await client.post("/v1/auth/login", json={"phone": "13800000003", "code": wrong}), 401, "otp_invalid"
        )
    # The right code no longer works: the challenge died with the fifth wrong try.
    assert_problem(await client.post("/v1/auth/login", json={"phone": "13800000003", "code": code}), 401)


async def test_otp_is_single_use_and_expires(client):
    await client.post("/v1/auth/otp", json={"phone": "13800000004"})
    code = last_sms_code(client.settings, "13800000004")
    assert (await client.post("/v1/auth/login", json={"phone": "13800000004", "code": code})).status_code == 200
    assert_problem(await client.post("/v1/auth/login", json={"phone": "13800000004", "code": code}), 401)
    client.clock.advance(61)
    await client.post("/v1/auth/otp", json={"phone": "13800000004"})
    code = last_sms_code(client.settings, "13800000004")
    client.clock.advance(client.settings.otp_ttl_s + 1)
    assert_problem(await client.post("/v1/auth/login", json={"phone": "13800000004", "code": code}), 401)


async def test_otp_send_limits_per_phone(client):
    assert (await client.post("/v1/auth/otp", json={"phone": "13900000000"})).status_code == 202
    limited = await client.post("/v1/auth/otp", json={"phone": "13900000000"})
    assert_problem(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
    for _ in range(9):
        client.clock.advance(61)
        assert (await client.post("/v1/auth/otp", json={"phone": "13900000000"})).status_code == 202
    client.clock.advance(61)
    assert_problem(await client.post("/v1/auth/otp", json={"phone": "13900000000"}), 429)


async def test_otp_reply_does_not_reveal_whether_a_phone_is_known(client):
    known = await client.post("/v1/auth/otp", json={"phone": "13800000001"})
    unknown = await client.post("/v1/auth/otp", json={"phone": "13712345678"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())


async def test_binding_bad_check_digit_names_the_field(client):
    tokens = await login_phone(client, "13800000001")
    entry = member_entry(client, "SG0000000001")
    bad = entry["id_number"][:17] + ("0" if entry["id_number"][17] != "0" else "1")
    body = assert_problem(
        await client.post(
            "/v1/me/binding", json={"id_number": bad, "name": entry["name"]}, headers=bearer(tokens["access_token"])
        ),
        422,
        "invalid_id_number",
    )
    assert body["errors"][0]["field"] == "id_number"


async def test_binding_locks_after_five_failures_a_day(client):
    tokens = await login_phone(client, "13800000001")
    entry = member_entry(client, "SG0000000001")
    for _ in range(5):
        assert_problem(
            await client.post(
                "/v1/me/binding",
                json={"id_number": entry["id_number"], "name": "王五"},
                headers=bearer(tokens["access_token"]),
            ),
            404,
            "member_not_found",
        )
    locked = await client.post(
        "/v1/me/binding",
        json={"id_number": entry["id_number"], "name": entry["name"]},
        headers=bearer(tokens["access_token"]),
    )
    assert_problem(locked, 429, "binding_locked")


async def test_a_phone_that_is_not_on_file_cannot_bind_the_record(client):
    """Issue 14: ID number and name are not proof; the phone on file is (or an ID card at a counter)."""
    await member_headers(client, "SG0000000001")
    other = await login_phone(client, "13800000002")
    entry = member_entry(client, "SG0000000001")
    body = assert_problem(
        await client.post(
            "/v1/me/binding",
            json={"id_number": entry["id_number"], "name": entry["name"]},
            headers=bearer(other["access_token"]),
        ),
        403,
        "binding_needs_verification",
    )
    assert len(body["extra"]["binding_code"]) == 9
    assert (await client.get("/v1/me", headers=bearer(other["access_token"]))).json()["bound"] is False


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_jwt_attacks_are_401(client):
    headers = await member_headers(client)
    good = headers["Authorization"].split()[1]
    assert (await client.get("/v1/me", headers=bearer(good))).status_code == 200
    keyring = load_keyring(client.settings.resolved_key_dir)
    keys = keyring.access
    s, now = client.settings, client.clock.now()
    claims = jwt.decode(good, options={"verify_signature": False})
    public_pem = keys.public_keys[keys.kid].public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    attacker = Ed25519PrivateKey.generate()
    header, payload, signature = good.split(".")

    def forged(**changes) -> str:
        return jwt.encode({**claims, **changes}, attacker, algorithm="EdDSA", headers={"kid": keys.kid})

    attacks = {
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': keys.kid})}.{payload}.",
        "hs256_with_public_key": f"{_b64({'alg': 'HS256', 'kid': keys.kid})}.{payload}.{signature}",
        "expired": access_token(
            keyring,
            subject=claims["sub"],
            role="member",
            facility_id=None,
            issuer=s.issuer,
            audience=s.audience,
            now=now.replace(year=2025),
            ttl_s=60,
            session=claims["sid"],
        ),
        "not_yet_valid": jwt.encode(
            {**claims, "nbf": int(now.timestamp()) + 3600, "iat": int(now.timestamp())},
            keys.private_key,
            algorithm="EdDSA",
            headers={"kid": keys.kid},
        ),
        "wrong_issuer": jwt.encode(
            {**claims, "iss": "evil"}, keys.private_key, algorithm="EdDSA", headers={"kid": keys.kid}
        ),
        "wrong_audience": jwt.encode(
            {**claims, "aud": "other"}, keys.private_key, algorithm="EdDSA", headers={"kid": keys.kid}
        ),
        "bad_signature": forged(),
        "unknown_kid": jwt.encode(claims, attacker, algorithm="EdDSA", headers={"kid": "nope"}),
        "tampered_payload": f"{header}.{_b64({**claims, 'sub': 'a999'})}.{signature}",
        "garbage": "not.a.token",
    }
    # The HS256 forgery made properly: signed with the PEM public key as the HMAC secret.
    import hashlib
    import hmac

    signing_input = f"{_b64({'alg': 'HS256', 'kid': keys.kid})}.{payload}".encode()
    mac = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    attacks["hs256_with_public_key"] = f"{signing_input.decode()}.{mac.decode()}"
    for name, token in attacks.items():
        response = await client.get("/v1/me", headers=bearer(token))
        assert response.status_code == 401, name


async def test_staff_login_failures_from_one_address_delay_that_address(client):
    """Five wrong passwords, then this address waits (growing delays); no account is locked."""
    for _ in range(5):
        assert_problem(
            await client.post("/v1/auth/staff/login", json={"username": "clerk_zj_dh", "password": "x"}),
            401,
            "login_failed",
        )
    throttled = assert_problem(
        await client.post("/v1/auth/staff/login", json={"username": "clerk_zj_dh", "password": "demo-Passw0rd!"}),
        429,
        "login_throttled",
    )
    assert throttled["extra"]["retry_after_s"] == 1
    client.clock.advance(1)
    assert_problem(  # the sixth try is let through after the wait; failing it doubles the wait
        await client.post("/v1/auth/staff/login", json={"username": "clerk_zj_dh", "password": "y"}), 401
    )
    again = await client.post("/v1/auth/staff/login", json={"username": "clerk_zj_dh", "password": "demo-Passw0rd!"})
    assert_problem(again, 429, "login_throttled")
    assert again.headers["retry-after"] == "2"
    client.clock.advance(2)
    ok = await client.post("/v1/auth/staff/login", json={"username": "clerk_zj_dh", "password": "demo-Passw0rd!"})
    assert ok.status_code == 200, ok.text


async def test_roles_are_enforced(client):
    clerk = await staff_headers(client, "clerk_zj_dh")
    assert_problem(await client.get("/v1/me", headers=clerk), 403, "forbidden")
    member = await member_headers(client)
    id_number = member_entry(client, "SG0000000001")["id_number"]  # a valid body: the role is what is refused
    assert_problem(await client.post("/v1/counter/verify", json={"id_number": id_number}, headers=member), 403)
    assert_problem(await client.get("/v1/review/change-requests", headers=member), 403)


async def test_dependants_and_acting_for_them(client):
    guardian = await member_headers(client, "SG0000000004")
    deps = (await client.get("/v1/me/dependants", headers=guardian)).json()
    assert [d["insurance_no"] for d in deps] == ["SG0000000005"]
    newborn_id = deps[0]["id"]
    own = await client.get("/v1/me/designation", params={"member_id": newborn_id}, headers=guardian)
    assert own.status_code == 200
    stranger = await member_headers(client, "SG0000000001")
    assert (await client.get("/v1/me/dependants", headers=stranger)).json() == []
    for path in (
        "/v1/me/designation",
        "/v1/me/benefits",
        "/v1/me/settlements",
        "/v1/me/credential",
        "/v1/me/designation/history",
    ):
        assert_problem(await client.get(path, params={"member_id": newborn_id}, headers=stranger), 404)


async def test_no_phone_or_id_number_in_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    from member_api.core.observability import JsonFormatter

    formatter = JsonFormatter()
    entry = member_entry(client, "SG0000000001")
    await member_headers(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    await client.post("/v1/counter/verify", json={"id_number": entry["id_number"]}, headers=clerk)
    await client.post("/v1/auth/otp", json={"phone": entry["phone"]})
    assert caplog.records, "expected log lines"
    for record in caplog.records:
        raw = f"{record.getMessage()} {record.__dict__}"  # what the code logged, before any scrubbing
        for line in (raw, formatter.format(record)):
            assert entry["phone"] not in line and entry["id_number"] not in line, line


async def test_a_phone_binds_one_record_only(client):
    headers = await member_headers(client, "SG0000000001")
    other = member_entry(client, "SG0000000002")
    response = await client.post(
        "/v1/me/binding", json={"id_number": other["id_number"], "name": other["name"]}, headers=headers
    )
    assert_problem(response, 409, "account_already_bound")
    assert (await client.get("/v1/me", headers=headers)).json()["member"]["insurance_no"] == "SG0000000001"


async def test_an_accepted_access_token_still_expires(client):
    """The verified-token cache skips only the signature check: expiry follows the clock on every request."""
    headers = await member_headers(client)
    assert (await client.get("/v1/me", headers=headers)).status_code == 200
    client.clock.advance(client.settings.access_token_ttl_s + 1)
    assert_problem(await client.get("/v1/me", headers=headers), 401, "token_expired")
