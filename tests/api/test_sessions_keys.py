"""Issue 14: sessions end when they end, refresh rotation has one winner, keys are separate and withdrawable,
and two e-credentials of one member cannot be linked by anyone who photographs them."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator

import jwt
import pytest

from member_api.core.keys import load_keyring
from member_api.core.tokens import sign
from tests.helpers import member_headers, staff_headers
from tests.helpers.live import bearer, client_from, login_resident, login_staff, member
from tests.helpers.problems import assert_problem
from tests.helpers.serverproc import Server, running_server

ENDS_WITHIN_S = 5.0


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    async with running_server(request.param, tmp_path_factory.mktemp(f"sessions-{request.param}"), workers=2) as live:
        yield live


async def _ends_within(http, path: str, headers: dict[str, str], since: float) -> list[tuple[float, int]]:
    """Call ``path`` until ENDS_WITHIN_S + 1 s after ``since``; (seconds since, status) of every call."""
    seen = []
    while (elapsed := time.monotonic() - since) < ENDS_WITHIN_S + 1:
        responses = await asyncio.gather(*(http.get(path, headers=headers) for _ in range(4)))  # both workers
        seen += [(elapsed, r.status_code) for r in responses]
        await asyncio.sleep(0.05)
    return seen


async def test_refresh_race_has_exactly_one_winner(server):
    async with client_from(server, "127.0.0.41") as http:
        tokens = await login_resident(http, server, "13500000041")
        body = {"refresh_token": tokens["refresh_token"]}
        answers = await asyncio.gather(*(http.post("/v1/auth/refresh", json=body) for _ in range(20)))
        statuses = [r.status_code for r in answers]
        assert statuses.count(200) == 1 and statuses.count(401) == 19, statuses
        winner = next(r.json() for r in answers if r.status_code == 200)
        # The losers were replays: the session ended, the winner's new refresh token with it.
        again = await http.post("/v1/auth/refresh", json={"refresh_token": winner["refresh_token"]})
        assert again.status_code == 401


async def test_logout_ends_access_on_every_worker_within_5_seconds(server):
    async with client_from(server, "127.0.0.42") as http:
        tokens = await login_resident(http, server, "13500000042")
        warm = await asyncio.gather(*(http.get("/v1/me", headers=bearer(tokens)) for _ in range(20)))
        assert {r.status_code for r in warm} == {200}  # each worker has seen (and cached) the session
        out = await http.post(
            "/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=bearer(tokens)
        )
        assert out.status_code == 204
        seen = await _ends_within(http, "/v1/me", bearer(tokens), time.monotonic())
        assert all(status == 401 for elapsed, status in seen if elapsed >= ENDS_WITHIN_S), seen
        last = await http.get("/v1/me", headers=bearer(tokens))
        assert last.json()["code"] == "session_ended"


async def test_staff_password_change_ends_the_clerks_sessions(server):
    async with client_from(server, "127.0.0.43") as http:
        tokens = await login_staff(http, "clerk_ybrm")
        headers = bearer(tokens)
        entry = member(server, "SG0000000001")
        assert (
            await http.post("/v1/counter/verify", json={"id_number": entry["id_number"]}, headers=headers)
        ).status_code == 200
        new_password = "a-new-Passw0rd-2026"
        await asyncio.to_thread(server.cli, "set-staff-password", "--username", "clerk_ybrm", stdin=new_password + "\n")
        since = time.monotonic()
        seen = []
        while (elapsed := time.monotonic() - since) < ENDS_WITHIN_S + 1:
            responses = await asyncio.gather(
                *(
                    http.post("/v1/counter/verify", json={"id_number": entry["id_number"]}, headers=headers)
                    for _ in range(4)
                )
            )
            seen += [(elapsed, r.status_code) for r in responses]
            await asyncio.sleep(0.05)
        assert all(status == 401 for elapsed, status in seen if elapsed >= ENDS_WITHIN_S), seen
        refreshed = await http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 401
        assert (
            await http.post("/v1/auth/staff/login", json={"username": "clerk_ybrm", "password": "demo-Passw0rd!"})
        ).status_code == 401
        assert (await login_staff(http, "clerk_ybrm", new_password))["role"] == "clerk"


async def test_revoked_keys_are_withdrawn_at_once_on_every_worker(server):
    entry = member(server, "SG0000000004")
    async with client_from(server, "127.0.0.44") as http:
        resident = await login_resident(http, server, entry["phone"])
        bound = await http.post(
            "/v1/me/binding", json={"id_number": entry["id_number"], "name": entry["name"]}, headers=bearer(resident)
        )
        assert bound.status_code == 200, bound.text
        clerk = bearer(await login_staff(http, "clerk_zj_dh_station"))
        credential = (await http.get("/v1/me/credential", headers=bearer(resident))).json()["token"]
        cred_kid = jwt.get_unverified_header(credential)["kid"]
        access_kid = jwt.get_unverified_header(resident["access_token"])["kid"]
        jwks = (await http.get("/.well-known/jwks.json")).json()
        assert cred_kid in {k["kid"] for k in jwks["keys"]} and access_kid not in {k["kid"] for k in jwks["keys"]}
        assert (
            await http.post("/v1/counter/verify", json={"credential": credential}, headers=clerk)
        ).status_code == 200

        out = await asyncio.to_thread(server.cli, "revoke-key", "--", cred_kid)
        assert "new current key" in out
        for _ in range(10):  # several calls: both workers answer
            assert cred_kid not in {k["kid"] for k in (await http.get("/.well-known/jwks.json")).json()["keys"]}
            refused = await http.post("/v1/counter/verify", json={"credential": credential}, headers=clerk)
            assert refused.status_code == 401 and refused.json()["code"] == "credential_invalid"
        fresh = (await http.get("/v1/me/credential", headers=bearer(resident))).json()["token"]
        assert jwt.get_unverified_header(fresh)["kid"] != cred_kid
        assert (await http.post("/v1/counter/verify", json={"credential": fresh}, headers=clerk)).status_code == 200

        await asyncio.to_thread(server.cli, "revoke-key", "--", access_kid)
        for _ in range(10):
            assert (await http.get("/v1/me", headers=bearer(resident))).status_code == 401
        renewed = (await http.post("/v1/auth/refresh", json={"refresh_token": resident["refresh_token"]})).json()
        assert jwt.get_unverified_header(renewed["access_token"])["kid"] != access_kid
        assert (await http.get("/v1/me", headers=bearer(renewed))).status_code == 200
        assert (await http.post("/v1/counter/verify", json={"credential": fresh}, headers=clerk)).status_code == 401


async def test_two_credentials_of_one_member_share_nothing_an_onlooker_can_compare(client):
    """Whatever is equal between two codes of one member is equal between codes of different members too."""
    own = await member_headers(client, "SG0000000001")
    other = await member_headers(client, "SG0000000002")
    a1 = (await client.get("/v1/me/credential", headers=own)).json()["token"]
    a2 = (await client.get("/v1/me/credential", headers=own)).json()["token"]
    b1 = (await client.get("/v1/me/credential", headers=other)).json()["token"]

    def fields(token: str) -> dict[str, object]:
        claims = jwt.decode(token, options={"verify_signature": False})
        header = jwt.get_unverified_header(token)
        return {**{f"claim.{k}": v for k, v in claims.items()}, **{f"header.{k}": v for k, v in header.items()}}

    f_a1, f_a2, f_b1 = fields(a1), fields(a2), fields(b1)
    same_member = {k for k in f_a1 if f_a1[k] == f_a2.get(k)}
    across_members = {k for k in f_a1 if f_a1[k] == f_b1.get(k)}
    assert same_member <= across_members, same_member - across_members
    assert f_a1["claim.sub"] != f_a2["claim.sub"]
    assert len(a1.split(".")[1]) == len(b1.split(".")[1])  # not even the length tells members apart
    # The server still knows who it is, without a table that grows per code.
    clerk = await staff_headers(client, "clerk_zj_dh")
    refs = set()
    for token in (a1, a2):
        verified = await client.post("/v1/counter/verify", json={"credential": token}, headers=clerk)
        assert verified.status_code == 200, verified.text
        refs.add(verified.json()["member_ref"])
    assert len(refs) == 1


async def test_jwks_publishes_credential_keys_only_and_access_tokens_name_their_session(client):
    tokens = await member_headers(client, "SG0000000001")
    access = tokens["Authorization"].split()[1]
    jwks = (await client.get("/.well-known/jwks.json")).json()
    kids = {k["kid"] for k in jwks["keys"]}
    assert jwt.get_unverified_header(access)["kid"] not in kids
    credential = (await client.get("/v1/me/credential", headers=tokens)).json()["token"]
    assert jwt.get_unverified_header(credential)["kid"] in kids
    assert jwt.decode(access, options={"verify_signature": False})["sid"]


async def test_a_credential_with_an_unsealed_or_tampered_subject_is_refused(client):
    """Even signed with the real credential key, a plain member id as ``sub`` does not open to a member."""
    own = await member_headers(client, "SG0000000001")
    token = (await client.get("/v1/me/credential", headers=own)).json()["token"]
    clerk = await staff_headers(client, "clerk_zj_dh")
    claims = jwt.decode(token, options={"verify_signature": False})
    keys = load_keyring(client.settings.resolved_key_dir).credential
    for sub in ("1", claims["sub"][:-2] + ("AA" if claims["sub"][-2:] != "AA" else "BB")):
        forged = sign(keys, {**claims, "sub": sub, "jti": f"x{sub[:4]}"}, headers={"typ": None})
        refused = await client.post("/v1/counter/verify", json={"credential": forged}, headers=clerk)
        assert_problem(refused, 401, "credential_invalid")
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload[:-2]}AA.{signature}"
    assert_problem(await client.post("/v1/counter/verify", json={"credential": tampered}, headers=clerk), 401)


async def test_unknown_username_costs_the_same_time_as_a_known_one(client):
    """Both run argon2 (a dummy hash for the unknown name) and write one audit line: timing tells nothing."""
    times: dict[str, list[float]] = {"clerk_zj_dh": [], "nobody_here": []}
    for _ in range(4):  # interleaved, below the free attempts of each (username, address)
        for username, samples in times.items():
            started = time.perf_counter()
            response = await client.post("/v1/auth/staff/login", json={"username": username, "password": "wrong-one"})
            samples.append(time.perf_counter() - started)
            assert_problem(response, 401, "login_failed")
    known, unknown = statistics.median(times["clerk_zj_dh"]), statistics.median(times["nobody_here"])
    assert 0.5 < known / unknown < 2, times
