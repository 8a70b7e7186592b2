"""Drafting claims and attaching receipts through the API."""

from __future__ import annotations

import uuid

from tests.helpers.files import PDF, png_bytes

HOSPITAL = "H44020300800"  # 粤北人民医院, tertiary


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def draft_claim(client, headers, body, member_id=None) -> dict:
    params = {"member_id": member_id} if member_id else {}
    response = await client.post("/v1/me/claims", json=body, params=params, headers={**headers, **idem()})
    assert response.status_code == 201, response.text
    return response.json()


async def add_receipt(client, headers, claim, item_index=0, member_id=None, files=None):
    params = {"member_id": member_id} if member_id else {}
    files = files or [
        ("files", ("receipt.png", png_bytes(), "image/png")),
        ("files", ("list.pdf", PDF, "application/pdf")),
    ]
    return await client.post(
        f"/v1/me/claims/{claim['id']}/receipts",
        params=params,
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        data={"item_id": str(claim["items"][item_index]["id"])},
        files=files,
    )
