"""Issue 33 build item 3: 参保证明 as a PDF with a signed QR, verified offline (published keys) and online (R1, R2)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import jwt
import pypdfium2
import zxingcpp

from tests.helpers.web import page_login


def _qr_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    image = document[0].render(scale=3).to_pil()
    found = zxingcpp.read_barcodes(image)
    assert found, "no QR code on the certificate"
    return found[0].text


async def test_r1_r2_certificate_pdf_verifies_offline_against_the_jwks_and_online(client):
    entry = await page_login(client, "SG0000000001")
    pdf = await client.get("/app/certificate.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    url = _qr_text(pdf.content)
    token = parse_qs(urlsplit(url).query)["t"][0]

    # Offline: the published keys and any JOSE library (PyJWT here), nothing else from the server.
    jwks = (await client.get("/.well-known/jwks.json")).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid))
    claims = jwt.decode(token, key, algorithms=["EdDSA"], audience="cert")
    assert claims["name"] == entry["name"] and claims["paid"] is True and claims["year"] == 2026
    assert claims["inst"] == "浈江区东河街道社区卫生服务中心"  # the pair carried over (R2)
    assert entry["id_number"] not in json.dumps(claims, ensure_ascii=False)  # masked only

    # Online: the public page (no login) shows exactly what the certificate states.
    anonymous = await client.get(urlsplit(url).path + "?" + urlsplit(url).query, cookies={})
    assert anonymous.status_code == 200 and "电子签名有效" in anonymous.text
    assert entry["name"] in anonymous.text and claims["id"] in anonymous.text

    # Altered or foreign tokens are refused, and a certificate is never an e-credential (other audience).
    head, body, signature = token.split(".")
    forged = await client.get("/app/certificate/verify", params={"t": f"{head}.{body}x.{signature}"})
    assert forged.status_code == 422 and "无法验证" in forged.text
    member = {
        "Authorization": (
            await client.post("/v1/auth/staff/login", json={"username": "clerk_zj_dh", "password": "demo-Passw0rd!"})
        ).json()["access_token"]
    }
    scanned = await client.post(
        "/v1/counter/verify", json={"credential": token}, headers={"Authorization": f"Bearer {member['Authorization']}"}
    )
    assert scanned.status_code == 401
