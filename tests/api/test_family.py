"""P1: an adult relative acts for a member with consent, scope by scope; guardianship of minors ends at 18."""

from __future__ import annotations

from datetime import date

import msgspec

from member_api.family import service as family_service
from member_api.members.tables import Member
from member_api.policy import parameters
from tests.helpers import member_entry, member_headers, staff_headers
from tests.helpers.problems import assert_problem


async def _member_id(client, headers) -> int:
    return (await client.get("/v1/me", headers=headers)).json()["member"]["id"]


async def _request(client, relative, member_insurance_no, scopes):
    entry = member_entry(client, member_insurance_no)
    return await client.post(
        "/v1/me/family/grants", json={"id_number": entry["id_number"], "scopes": scopes}, headers=relative
    )


async def _asked(client, member) -> list[dict]:
    """The requests and grants the member was asked for (only the member sees a request before confirming it)."""
    return (await client.get("/v1/me/family", headers=member)).json()["acting_for_me"]


async def test_p1_grant_lifecycle_scopes_audit_and_revocation(client):
    child = await member_headers(client, "SG0000000001")
    parent = await member_headers(client, "SG0000000002")
    parent_id = await _member_id(client, parent)
    asked = await _request(client, child, "SG0000000002", ["view", "credential"])
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "requested" and "member" not in asked.json()  # tells the requester nothing
    assert (await client.get("/v1/me/family", headers=child)).json()["i_act_for"] == []  # not before it is confirmed
    [grant] = await _asked(client, parent)
    assert grant["status"] == "pending" and grant["member"]["name_masked"] == "李**"
    assert "440" not in grant["member"]["id_number_masked"][4:-4]  # masked, never the ID number
    assert_problem(await client.post(f"/v1/me/family/grants/{grant['id']}/revoke", headers=child), 404)

    # Nothing is allowed before the member confirms.
    assert_problem(await client.get("/v1/me/benefits", params={"member_id": parent_id}, headers=child), 404)
    assert_problem(await client.post(f"/v1/me/family/grants/{grant['id']}/confirm", headers=child), 404)
    confirmed = await client.post(f"/v1/me/family/grants/{grant['id']}/confirm", headers=parent)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "active"

    # Within scope: view and credential.
    benefits = await client.get("/v1/me/benefits", params={"member_id": parent_id}, headers=child)
    assert benefits.status_code == 200 and benefits.json()["annual_cap_fen"] == 30000
    assert (await client.get("/v1/me/credential", params={"member_id": parent_id}, headers=child)).status_code == 200
    # Outside scope: designation and claims are refused with a reason.
    refused = await client.put(
        "/v1/me/designation", params={"member_id": parent_id}, json={"institution_id": 1}, headers=child
    )
    assert_problem(refused, 403, "family_scope_missing")

    # The member sees who acted for them, and both sides see the grant.
    acts = (await client.get("/v1/me/family/activity", headers=parent)).json()
    assert {a["scope"] for a in acts} >= {"view", "credential"}
    child_id = await _member_id(client, child)
    assert all(a["relative_member_id"] == child_id and a["via"] == "family_grant" for a in acts)
    assert [g["id"] for g in (await client.get("/v1/me/family", headers=child)).json()["i_act_for"]] == [grant["id"]]

    # Either side revokes; access ends at once.
    revoked = await client.post(f"/v1/me/family/grants/{grant['id']}/revoke", headers=parent)
    assert revoked.json()["status"] == "revoked"
    assert_problem(await client.get("/v1/me/benefits", params={"member_id": parent_id}, headers=child), 404)
    assert_problem(await client.post(f"/v1/me/family/grants/{grant['id']}/revoke", headers=child), 409)


async def test_p1_confirmation_at_a_counter_checks_the_id_card(client):
    relative = await member_headers(client, "SG0000000003")
    assert (await _request(client, relative, "SG0000000002", ["view"])).status_code == 202
    [grant] = await _asked(client, await member_headers(client, "SG0000000002"))
    clerk = await staff_headers(client, "clerk_zj_dh")
    wrong = await client.post(
        f"/v1/counter/family-grants/{grant['id']}/confirm",
        json={"id_number": member_entry(client, "SG0000000001")["id_number"]},
        headers=clerk,
    )
    assert_problem(wrong, 404)
    ok = await client.post(
        f"/v1/counter/family-grants/{grant['id']}/confirm",
        json={"id_number": member_entry(client, "SG0000000002")["id_number"]},
        headers=clerk,
    )
    assert ok.status_code == 200 and ok.json()["status"] == "active" and ok.json()["confirmed_by"].startswith("staff:")


async def test_p1_at_most_the_parameter_number_of_relatives(client, monkeypatch):
    real = parameters.for_date
    monkeypatch.setattr(
        family_service.parameters, "for_date", lambda day: msgspec.structs.replace(real(day), family_max_relatives=2)
    )
    parent = await member_headers(client, "SG0000000002")
    for no in ("SG0000000001", "SG0000000003", "SG0000000004"):
        relative = await member_headers(client, no)
        assert (await _request(client, relative, "SG0000000002", ["view"])).status_code == 202
    grants = sorted(await _asked(client, parent), key=lambda g: g["id"])
    assert len(grants) == 3
    for grant in grants[:2]:
        assert (await client.post(f"/v1/me/family/grants/{grant['id']}/confirm", headers=parent)).status_code == 200
    assert_problem(
        await client.post(f"/v1/me/family/grants/{grants[2]['id']}/confirm", headers=parent),
        409,
        "family_limit_reached",
    )


async def test_p1_minors_are_represented_by_their_guardian_not_by_grants(client):
    guardian = await member_headers(client, "SG0000000004")
    asked = await _request(client, guardian, "SG0000000005", ["view"])
    assert asked.status_code == 202  # the same answer as for anyone: but no request is made for a minor
    assert (await client.get("/v1/me/family", headers=guardian)).json()["i_act_for"] == []


async def test_issue_26_a_request_tells_nothing_about_the_number_and_is_limited_per_day(client):
    """``POST /v1/me/family/grants`` answered 404 for unregistered and 201 for registered people, without a limit:
    it told a stranger who is insured. Now one answer for an insured adult, an unknown number and a repeat, and
    a few attempts a day per account (429 afterwards, even for a real number)."""
    stranger = await member_headers(client, "SG0000000003")
    real = member_entry(client, "SG0000000002")["id_number"]
    unknown = "11010519491231002X"  # a valid check digit, nobody in the registry
    answers = []
    for id_number in (real, unknown, real):
        response = await client.post(
            "/v1/me/family/grants", json={"id_number": id_number, "scopes": ["view"]}, headers=stranger
        )
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] == answers[2] and answers[0][0] == 202
    for id_number in (unknown, unknown):
        await client.post("/v1/me/family/grants", json={"id_number": id_number, "scopes": ["view"]}, headers=stranger)
    limited = await client.post("/v1/me/family/grants", json={"id_number": real, "scopes": ["view"]}, headers=stranger)
    assert_problem(limited, 429, "family_requests_limited")
    assert limited.headers["retry-after"].isdigit()
    # the member asked finds the one request in their own account
    asked = await _asked(client, await member_headers(client, "SG0000000002"))
    assert [g["status"] for g in asked] == ["pending"]


async def test_p1_guardianship_ends_on_the_18th_birthday(client):
    guardian = await member_headers(client, "SG0000000004")
    dependant = (await client.get("/v1/me/dependants", headers=guardian)).json()[0]["id"]
    today = client.clock.now().date()  # 2026-11-24 in the test world

    async def set_birth(day: date) -> None:
        await Member.update({Member.birth_date: day}).where(Member.id == dependant)

    await set_birth(date(today.year - 18, today.month, today.day + 1))  # 18 tomorrow: still a minor
    ok = await client.get("/v1/me/benefits", params={"member_id": dependant}, headers=guardian)
    assert ok.status_code == 200
    await set_birth(date(today.year - 18, today.month, today.day))  # 18 today
    assert_problem(await client.get("/v1/me/benefits", params={"member_id": dependant}, headers=guardian), 404)
