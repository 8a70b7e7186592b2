"""Issue 14: binding proves possession. The phone on file binds in the app; anyone else binds at a counter,
where a clerk checks the ID card and enters the app's binding code; a phone change in the registry unbinds."""

from __future__ import annotations

from datetime import date

from member_api.audit.tables import AuditEvent
from member_api.jobs.demo import demo_id
from member_api.members.importer import COLUMNS, import_csv
from tests.helpers import login_phone, member_entry, member_headers, staff_headers
from tests.helpers.problems import assert_problem

COUNTER_MEMBER = "SG0000000007"  # demo member with no phone on file


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _counter_bind(client, staff: dict, code: str, id_number: str, key: str = "bind-1"):
    return await client.post(
        "/v1/counter/bindings",
        json={"binding_code": code, "id_number": id_number},
        headers={**staff, "Idempotency-Key": key},
    )


async def test_counter_assisted_binding_end_to_end(client):
    entry = member_entry(client, COUNTER_MEMBER)
    assert entry["phone"] is None
    resident = await login_phone(client, "13712340007")
    refused = assert_problem(
        await client.post(
            "/v1/me/binding",
            json={"id_number": entry["id_number"], "name": entry["name"]},
            headers=bearer(resident),
        ),
        403,
        "binding_needs_verification",
    )
    assert "柜台" in refused["message_zh"] and "counter" in refused["message_en"]
    code = refused["extra"]["binding_code"]

    clerk = await staff_headers(client, "clerk_wj_xh")
    bound = await _counter_bind(client, clerk, code.lower(), entry["id_number"])  # typed as the app shows it
    assert bound.status_code == 201, bound.text
    body = bound.json()
    assert body["phone_masked"] == "137****0007" and body["replaced_binding"] is False
    assert entry["id_number"] not in bound.text and entry["name"] not in bound.text
    replay = await _counter_bind(client, clerk, code.lower(), entry["id_number"])  # same key and body: same answer
    assert replay.json() == body and replay.headers.get("idempotent-replayed") == "true"

    me = (await client.get("/v1/me", headers=bearer(resident))).json()
    assert me["bound"] and me["member"]["insurance_no"] == COUNTER_MEMBER
    assert (await client.get("/v1/me/credential", headers=bearer(resident))).status_code == 200
    audit = await AuditEvent.select().where(AuditEvent.action == "counter_bind").first()
    assert audit["actor"].startswith("staff:") and audit["subject_id"] == str(body["member_id"])

    # The code was single use.
    assert_problem(
        await _counter_bind(client, clerk, code, entry["id_number"], key="bind-2"), 422, "binding_code_invalid"
    )


async def test_binding_code_is_short_lived_and_the_id_must_match_a_record(client):
    resident = await login_phone(client, "13712340008")
    issued = await client.post("/v1/me/binding-codes", headers=bearer(resident))
    assert issued.status_code == 201 and issued.headers["cache-control"] == "no-store"
    code = issued.json()["binding_code"]
    reviewer = await staff_headers(client, "reviewer_agency")
    unknown_id = demo_id("440204", date(1980, 1, 1), 99, "M")
    assert_problem(await _counter_bind(client, reviewer, code, unknown_id, key="r1"), 404, "member_not_found")
    client.clock.advance(client.settings.binding_code_ttl_s + 1)
    entry = member_entry(client, COUNTER_MEMBER)
    assert_problem(
        await _counter_bind(client, reviewer, code, entry["id_number"], key="r2"), 422, "binding_code_invalid"
    )
    # A fresh code works, and a reviewer (agency counter) may bind too.
    fresh = (await client.post("/v1/me/binding-codes", headers=bearer(resident))).json()["binding_code"]
    assert (await _counter_bind(client, reviewer, fresh, entry["id_number"], key="r3")).status_code == 201


async def test_only_staff_bind_at_the_counter(client):
    member = await member_headers(client, "SG0000000001")
    resident = await login_phone(client, "13712340009")
    code = (await client.post("/v1/me/binding-codes", headers=bearer(resident))).json()["binding_code"]
    entry = member_entry(client, COUNTER_MEMBER)
    assert_problem(await _counter_bind(client, member, code, entry["id_number"]), 403, "forbidden")
    assert_problem(await _counter_bind(client, {}, code, entry["id_number"]), 401)
    # A bound account gets no binding code: one phone binds one record.
    assert_problem(await client.post("/v1/me/binding-codes", headers=member), 409, "account_already_bound")


async def test_counter_moves_a_record_from_another_phone_and_that_account_is_told_why(client):
    """A resident whose record was bound elsewhere (an old phone, a hijack) gets it back with the ID card."""
    entry = member_entry(client, COUNTER_MEMBER)
    clerk = await staff_headers(client, "clerk_zj_dh")
    first = await login_phone(client, "13712340010")
    code = (await client.post("/v1/me/binding-codes", headers=bearer(first))).json()["binding_code"]
    assert (await _counter_bind(client, clerk, code, entry["id_number"], key="m1")).status_code == 201
    second = await login_phone(client, "13712340011")
    code = (await client.post("/v1/me/binding-codes", headers=bearer(second))).json()["binding_code"]
    moved = await _counter_bind(client, clerk, code, entry["id_number"], key="m2")
    assert moved.status_code == 201 and moved.json()["replaced_binding"] is True
    old = (await client.get("/v1/me", headers=bearer(first))).json()
    assert old["bound"] is False and old["unbound_reason"] == "rebound_at_counter"
    assert (await client.get("/v1/me", headers=bearer(second))).json()["bound"] is True


async def test_registry_phone_change_unbinds_the_old_phone(client, database, tmp_path):
    entry = member_entry(client, "SG0000000003")
    headers = await member_headers(client, "SG0000000003")
    row = (
        f"SG0000000003,{entry['name']},{entry['id_number']},M,{entry['division']},13987654321,,"
        f"{client.clock.now().year},1,2025-12-15"
    )
    path = tmp_path / "export.csv"
    path.write_text(",".join(COLUMNS) + "\n" + row + "\n", encoding="utf-8")
    report = await import_csv(database["settings"], path, progress=False)
    assert report.summary()["unbound_accounts"] == 1
    me = (await client.get("/v1/me", headers=headers)).json()
    assert me == {
        "phone_masked": "138****0003",
        "bound": False,
        "member": None,
        "unbound_reason": "registry_phone_changed",
    }
    # The new phone on file binds in the app; importing the same phone again unbinds nobody.
    new = await login_phone(client, "13987654321")
    rebound = await client.post(
        "/v1/me/binding", json={"id_number": entry["id_number"], "name": entry["name"]}, headers=bearer(new)
    )
    assert rebound.status_code == 200, rebound.text
    assert (await import_csv(database["settings"], path, progress=False)).unbound == 0


async def test_self_binding_with_the_phone_on_file_still_checks_the_name(client):
    entry = member_entry(client, "SG0000000002")
    tokens = await login_phone(client, entry["phone"])
    assert_problem(
        await client.post(
            "/v1/me/binding", json={"id_number": entry["id_number"], "name": "王五"}, headers=bearer(tokens)
        ),
        404,
        "member_not_found",
    )
    ok = await client.post(
        "/v1/me/binding", json={"id_number": entry["id_number"], "name": entry["name"]}, headers=bearer(tokens)
    )
    assert ok.status_code == 200
