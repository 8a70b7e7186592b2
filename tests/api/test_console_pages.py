"""The staff console over HTTP on both databases: a settlement form submitted twice settles once (R8, the form's
Idempotency-Key), roles as in the API, CSRF on posts, no-store pages, and the idle timeout of shared counter PCs."""

from __future__ import annotations

import re
from typing import Any

from member_api.jobs.demo import DEMO_PASSWORD
from tests.helpers import member_entry
from tests.helpers.web import csrf_of

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


async def console_login(client: Any, username: str) -> None:
    page = await client.get("/console/login")
    response = await client.post(
        "/console/login",
        data={"username": username, "password": DEMO_PASSWORD, "_csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


async def test_r8_a_settlement_form_submitted_twice_settles_once(client: Any):
    await console_login(client, "clerk_zj_dh")
    entry = member_entry(client, "SG0000000001")
    counter = await client.get("/console/counter")
    assert counter.headers["cache-control"] == "no-store"
    verified = await client.post(
        "/console/counter/verify", data={"scan": entry["id_number"], "_csrf_token": csrf_of(counter.text)}
    )
    assert verified.status_code == 200 and "本机构为约定机构" in verified.text
    bill = {"general_fee": "10", "compliant": "40.00", "non_compliant": "15", "id_number": entry["id_number"]}
    quoted = await client.post("/console/counter/quote", data={**bill, "_csrf_token": csrf_of(verified.text)})
    assert quoted.status_code == 200, quoted.text
    assert 'data-testid="quote-fund">35.00<' in quoted.text
    form = {**dict(_HIDDEN.findall(quoted.text)), "_csrf_token": csrf_of(quoted.text)}
    assert form["general_fee_fen"] == "1000" and form["compliant_fen"] == "4000" and form["idempotency_key"]
    first = await client.post("/console/counter/settle", data=form, follow_redirects=False)
    second = await client.post("/console/counter/settle", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    today = await client.get("/console/counter/today")
    assert today.text.count("data-settlement=") == 1


async def test_amounts_in_yuan_are_converted_exactly_or_refused(client: Any):
    from member_api.web.common.forms import yuan_to_fen

    assert yuan_to_fen("0.29") == 29 and yuan_to_fen("1,234.5") == 123450 and yuan_to_fen("12") == 1200
    assert yuan_to_fen("10.005") is None and yuan_to_fen("-1") is None and yuan_to_fen("1e3") is None


async def test_roles_as_in_the_api_csrf_and_the_idle_timeout(client: Any):
    await console_login(client, "clerk_zj_dh")
    for path in ("/console/review/claims", "/console/review/disputes", "/console/agency", "/console/agency/signals"):
        refused = await client.get(path)
        assert refused.status_code == 403 and "无权" in refused.text, path
    assert (await client.get("/console/review/change-requests")).status_code == 200  # clerks: their members
    no_token = await client.post("/console/counter/verify", data={"scan": "x"})
    assert no_token.status_code == 403 and "页面已过期" in no_token.text
    client.clock.advance(client.settings.console_idle_timeout_s + 1)
    idle = await client.get("/console/counter", follow_redirects=False)
    assert idle.status_code == 303 and "reason=idle" in idle.headers["location"]
    await console_login(client, "reviewer_agency")
    assert (await client.get("/console/counter")).status_code == 403
    assert (await client.get("/console/review/claims")).status_code == 200
