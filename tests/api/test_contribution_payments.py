"""Issue 33 build item 4: 参保缴费. The payment system posts a payment (system credential, idempotent, audited) and
the resident who has just paid is covered at once (R1), without waiting for the registry import."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.helpers import member_entry, member_headers, staff_headers
from tests.helpers.problems import assert_problem

SECRET = "payments-system-secret-for-tests"


@pytest.fixture
def settings_with_payments(client):
    client.app.state.ctx.settings.__class__
    ctx = client.app.state.ctx
    old = ctx.settings
    ctx.settings = old.__class__(
        **{
            **{f: getattr(old, f) for f in old.__struct_fields__},
            "payment_credential_hashes": hashlib.sha256(SECRET.encode()).hexdigest(),
            "payment_channel_url": "https://pay.example.cn/resident",
        }
    )
    yield
    ctx.settings = old


async def test_r1_payment_event_covers_the_member_at_once_once_and_audited(client, settings_with_payments):
    unpaid = member_entry(client, "SG0000000006")
    body = {
        "event_id": "TAX-2026-000123",
        "insurance_no": "SG0000000006",
        "year": 2026,
        "amount_fen": 38000,
        "paid_on": "2026-11-20",
        "channel": "tax",
    }
    refused = await client.post("/v1/payments/events", json=body, headers={"Idempotency-Key": "a"})
    assert_problem(refused, 401, "unauthorized")
    clerk = await staff_headers(client, "clerk_zj_dh")
    as_clerk = await client.post("/v1/payments/events", json=body, headers={**clerk, "Idempotency-Key": "b"})
    assert_problem(as_clerk, 401, "unauthorized")

    system = {"Authorization": f"Bearer {SECRET}"}
    first = await client.post("/v1/payments/events", json=body, headers={**system, "Idempotency-Key": "k1"})
    assert first.status_code == 201, first.text
    assert first.json()["paid_up"] is True and first.json()["duplicate"] is False
    again = await client.post("/v1/payments/events", json=body, headers={**system, "Idempotency-Key": "k2"})
    assert again.status_code == 201 and again.json()["duplicate"] is True  # same event id, new key: applied once
    other = await client.post(
        "/v1/payments/events", json={**body, "amount_fen": 1}, headers={**system, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert_problem(other, 409, "payment_event_conflict")

    # The settlement that follows pays from the fund (R1), with no registry import in between.
    settled = await client.post(
        "/v1/counter/settlements",
        json={"visit_date": "2026-11-24", "id_number": unpaid["id_number"], "compliant_fen": 1000, "emergency": True},
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert settled.status_code == 201 and settled.json()["fund_fen"] > 0, settled.text

    from member_api.audit.tables import AuditEvent

    actions = await AuditEvent.select(AuditEvent.action, AuditEvent.actor).where(
        AuditEvent.action == "contribution_paid"
    )
    assert len(actions) == 1 and actions[0]["actor"].startswith("system:payments:")


async def test_contribution_status_next_year_window_and_payment_link(client, settings_with_payments):
    member = await member_headers(client, "SG0000000001")
    status = await client.get("/v1/me/contribution", headers=member)
    assert status.status_code == 200, status.text
    shown = status.json()
    assert shown["paid_this_year"] is True and shown["paid_next_year"] is False
    assert (shown["window_opens"], shown["window_closes"]) == ("2026-09-01", "2026-12-31")
    assert shown["window_open_now"] is True and shown["payment_url"] == "https://pay.example.cn/resident"
    system = {"Authorization": f"Bearer {SECRET}", "Idempotency-Key": "n1"}
    body = {
        "event_id": "TAX-2027-1",
        "insurance_no": "SG0000000001",
        "year": 2027,
        "amount_fen": 40000,
        "paid_on": "2026-11-24",
    }
    paid = await client.post("/v1/payments/events", json=body, headers=system)
    assert paid.json()["covered_from"] == "2027-01-01"  # paid before the year: the whole year
    assert (await client.get("/v1/me/contribution", headers=member)).json()["paid_next_year"] is True
