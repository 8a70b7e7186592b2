"""Steps the console's browser tests take through the API of a real server: a resident's e-credential, a referral
claim with receipts (an image and a one-page PDF) submitted for review, staff login in the console."""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from typing import Any

import httpx
from PIL import Image, ImageDraw

from member_api.core.clock import LOCAL_TZ
from member_api.jobs.demo import DEMO_PASSWORD
from tests.helpers.browser import member, sms_code
from tests.helpers.claims import HOSPITAL


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def receipt_png(label: str, size: tuple[int, int] = (600, 800)) -> bytes:
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, size[0] - 20, size[1] - 20), outline=(30, 30, 30), width=4)
    draw.text((40, 40), f"RECEIPT {label}", fill=(0, 0, 0))
    for n in range(8):
        draw.line((40, 120 + 60 * n, size[0] - 40, 120 + 60 * n), fill=(120, 120, 120), width=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def receipt_pdf(pages: int = 2) -> bytes:
    """A real PDF with ``pages`` pages (Pillow writes it), for the server-side page rendering."""
    images = [Image.open(io.BytesIO(receipt_png(f"PDF {n + 1}"))).convert("RGB") for n in range(pages)]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:])
    return out.getvalue()


async def resident_headers(http: httpx.AsyncClient, server: Any, insurance_no: str) -> dict[str, str]:
    """Logged in and bound once per server (one SMS code per phone per minute), then reused."""
    cache = server.__dict__.setdefault("residents", {})
    if insurance_no in cache:
        return dict(cache[insurance_no])
    who = member(server, insurance_no)
    sent = await http.post("/v1/auth/otp", json={"phone": who["phone"]})
    assert sent.status_code == 202, sent.text
    tokens = await http.post("/v1/auth/login", json={"phone": who["phone"], "code": sms_code(server, who["phone"])})
    assert tokens.status_code == 200, tokens.text
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    bound = await http.post(
        "/v1/me/binding", json={"id_number": who["id_number"], "name": who["name"]}, headers=headers
    )
    assert bound.status_code == 200, bound.text
    cache[insurance_no] = headers
    return headers


async def credential_token(server: Any, insurance_no: str) -> str:
    """The raw token of the resident's e-credential QR (what a scanner in keyboard mode types)."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        headers = await resident_headers(http, server, insurance_no)
        response = await http.get("/v1/me/credential", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


async def staff_api_headers(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await http.post("/v1/auth/staff/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def submitted_referral_claim(
    server: Any, insurance_no: str = "SG0000000001", lines: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """R10: the designated clerk refers the member to the city hospital; the member claims two visits there, one
    receipt photo and one two-page PDF, and submits. Returns the claim. ``lines``: the first visit's bill as
    catalogue lines (R18) instead of typed totals."""
    today = datetime.now(LOCAL_TZ).date().isoformat()  # the server's day (Shanghai), not the test host's
    who = member(server, insurance_no)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        clerk = await staff_api_headers(http, "clerk_zj_dh")
        found = await http.get("/v1/facilities", params={"tier": "tertiary", "limit": 100})
        hospital = next(f for f in found.json()["items"] if f["code"] == HOSPITAL)
        referral = await http.post(
            "/v1/counter/referrals",
            json={
                "id_number": who["id_number"],
                "target_facility_id": hospital["id"],
                "valid_from": today,
                "valid_to": today,
            },
            headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert referral.status_code == 201, referral.text
        resident = await resident_headers(http, server, insurance_no)
        items = [
            {"care_date": today, "facility_id": hospital["id"], "compliant_fen": 20000},
            {"care_date": today, "facility_id": hospital["id"], "compliant_fen": 5000, "non_compliant_fen": 1200},
        ]
        if lines is not None:
            items[0] = {"care_date": today, "facility_id": hospital["id"], "items": lines}
        body = {"kind": "referral", "referral_id": referral.json()["id"], "items": items}
        claim = await http.post("/v1/me/claims", json=body, headers={**resident, **idem()})
        assert claim.status_code == 201, claim.text
        claim_json = claim.json()
        files = [
            [("files", ("receipt.png", receipt_png("1"), "image/png"))],
            [("files", ("list.pdf", receipt_pdf(2), "application/pdf"))],
        ]
        for item, item_files in zip(claim_json["items"], files, strict=True):
            added = await http.post(
                f"/v1/me/claims/{claim_json['id']}/receipts",
                headers={**resident, "Idempotency-Key": str(uuid.uuid4())},
                data={"item_id": str(item["id"])},
                files=item_files,
            )
            assert added.status_code in (200, 201), added.text
        submitted = await http.post(f"/v1/me/claims/{claim_json['id']}/submit", headers=resident)
        assert submitted.status_code == 200, submitted.text
        return dict(submitted.json())


async def console_login(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
    await page.goto("/console/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.press("#password", "Enter")
    await page.wait_for_load_state()
