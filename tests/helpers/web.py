"""Driving the resident H5 pages over HTTP (the test client keeps their cookies): CSRF token, login, binding."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import member_entry
from tests.helpers.databases import last_sms_code

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page without a CSRF token"
    return match.group(1)


async def csrf(client: Any, path: str = "/app/login") -> str:
    response = await client.get(path)
    return csrf_of(response.text)


async def post_form(client: Any, path: str, data: dict[str, str], page: str = "/app/login", **kwargs: Any) -> Any:
    """POST a form the way the page does: with the token its last rendering carried."""
    token = await csrf(client, page)
    kwargs.setdefault("follow_redirects", False)
    return await client.post(path, data={**data, "_csrf_token": token}, **kwargs)


async def page_login(client: Any, insurance_no: str, bind: bool = True) -> dict[str, Any]:
    """Log in through /app/login with the SMS code from the file backend; bind through /app/bind."""
    entry = member_entry(client, insurance_no)
    sent = await post_form(client, "/app/login/code", {"phone": entry["phone"]})
    assert sent.status_code == 200, sent.text
    code = last_sms_code(client.settings, entry["phone"])
    done = await post_form(client, "/app/login", {"phone": entry["phone"], "code": code})
    assert done.status_code == 303, done.text
    if bind:
        bound = await post_form(
            client, "/app/bind", {"id_number": entry["id_number"], "name": entry["name"]}, page="/app/bind"
        )
        assert bound.status_code == 303, bound.text
    return entry
