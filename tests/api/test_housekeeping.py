"""`member-api housekeeping`: expired short-lived rows go, live ones and money stay."""

from __future__ import annotations

from member_api.auth.tables import OtpChallenge
from member_api.core.tables import IdempotencyRecord, RateCounter
from member_api.jobs.housekeeping import purge
from member_api.ledger.tables import Movement
from tests.helpers import login_phone, member_entry, staff_headers


async def test_housekeeping_removes_only_what_has_expired(client):
    old_login = await login_phone(client, "13800000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    settled = await client.post(
        "/v1/counter/settlements",
        headers={**clerk, "Idempotency-Key": "visit-1"},
        json={
            "visit_date": "2026-11-24",
            "id_number": member_entry(client, "SG0000000001")["id_number"],
            "compliant_fen": 1000,
        },
    )
    assert settled.status_code == 201
    client.clock.advance(3 * 24 * 3600)
    await login_phone(client, "13800000002")  # today's rows

    removed = await purge(client.clock.now())

    assert removed["idempotency_records"] == 1 and removed["otp_challenges"] == 1 and removed["rate_counters"] >= 1
    assert removed["refresh_tokens"] == 0  # not 30 days past its expiry
    assert await IdempotencyRecord.count() == 0 and await Movement.count() == 1  # money rows are never touched
    assert await OtpChallenge.count() == 1 and await RateCounter.count() >= 1  # today's login keeps its rows
    refreshed = await client.post("/v1/auth/refresh", json={"refresh_token": old_login["refresh_token"]})
    assert refreshed.status_code == 200
    assert await purge(client.clock.now()) == dict.fromkeys(removed, 0)
