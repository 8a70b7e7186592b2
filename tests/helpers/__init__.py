"""Small steps many API tests take: log in a resident or a clerk, find demo facilities."""

from __future__ import annotations

from typing import Any

from member_api.jobs.demo import DEMO_PASSWORD
from tests.helpers.databases import last_sms_code


def member_entry(client: Any, insurance_no: str) -> dict[str, Any]:
    return next(m for m in client.world["members"] if m["insurance_no"] == insurance_no)


async def login_phone(client: Any, phone: str) -> dict[str, Any]:
    sent = await client.post("/v1/auth/otp", json={"phone": phone})
    assert sent.status_code == 202, sent.text
    code = last_sms_code(client.settings, phone)
    response = await client.post("/v1/auth/login", json={"phone": phone, "code": code})
    assert response.status_code == 200, response.text
    return response.json()


async def member_headers(client: Any, insurance_no: str = "SG0000000001") -> dict[str, str]:
    """Log in with the demo member's phone and bind their record."""
    entry = member_entry(client, insurance_no)
    tokens = await login_phone(client, entry["phone"])
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    bound = await client.post(
        "/v1/me/binding", json={"id_number": entry["id_number"], "name": entry["name"]}, headers=headers
    )
    assert bound.status_code == 200, bound.text
    return headers


async def staff_headers(client: Any, username: str) -> dict[str, str]:
    response = await client.post("/v1/auth/staff/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def facility_id(client: Any, code: str) -> int:
    from member_api.facilities.tables import Facility

    row = await Facility.select(Facility.id).where(Facility.code == code).first()
    assert row is not None
    return int(row["id"])
