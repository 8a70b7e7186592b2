"""Steps the browser tests share: log in with the SMS code from the file backend, bind, choose a pair, a clerk."""

from __future__ import annotations

import json
from typing import Any

import httpx

from member_api.jobs.demo import DEMO_PASSWORD


def member(server: Any, insurance_no: str) -> dict[str, Any]:
    return next(m for m in server.manifest["members"] if m["insurance_no"] == insurance_no)


def sms_code(server: Any, phone: str) -> str:
    lines = [json.loads(line) for line in (server.data_dir / "sms.jsonl").read_text().splitlines()]
    return next(m["code"] for m in reversed(lines) if m["phone"] == phone)


async def log_in(page: Any, server: Any, who: dict[str, Any], bind: bool = True) -> None:
    """Phone, "获取验证码", the code from <data_dir>/sms.jsonl, "登录"; then the binding form."""
    await page.goto("/app/")
    await page.fill("#phone", who["phone"])
    await page.click("#send-code")
    await page.locator("#login-message").get_by_text("验证码已发送").wait_for()
    await page.fill("#code", sms_code(server, who["phone"]))
    await page.click("#login-button")
    await page.wait_for_url("**/app/bind")
    if bind:
        await page.fill("#id_number", who["id_number"])
        await page.fill("#name", who["name"])
        await page.click("form[action='/app/bind'] button[type=submit]")
        await page.wait_for_url("**/app/")


async def choose_pair(page: Any, search: str, institution: str) -> None:
    """Clinics: search by name, open the institution, keep the first of its stations, choose (a change that needs
    a request lands on the change form)."""
    await page.goto("/app/clinics")
    await page.fill("#q", search)
    await page.select_option("#division", "all")
    await page.click("#clinic-search button[type=submit]")
    await page.get_by_role("link", name=institution).first.click()
    await page.click("[data-testid=choose]")
    await page.wait_for_load_state()


async def clerk_headers(server: Any, username: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post("/v1/auth/staff/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
