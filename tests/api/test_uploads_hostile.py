"""Issue 14 (R9, R11): hostile receipt files are refused whole, and stored ones come back only as downloads."""

from __future__ import annotations

import io
import os
import uuid
import zlib

import pikepdf
import pytest
from PIL import Image

from member_api.claims.tables import Receipt
from tests.helpers import facility_id, member_entry, member_headers, staff_headers
from tests.helpers.claims import HOSPITAL, add_receipt, draft_claim
from tests.helpers.files import jpeg_bytes, pdf_bytes, png_bytes
from tests.helpers.problems import assert_problem
from tests.helpers.web import csrf, page_login

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


def _big_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _truncated_jpeg() -> bytes:
    data = jpeg_bytes(256)
    return data[: len(data) * 2 // 3]


def _pdf_js_in_object_stream() -> bytes:
    """/OpenAction JavaScript inside a compressed object stream: no byte pattern in the file shows it."""
    pdf = pikepdf.Pdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.Root.OpenAction = pdf.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    )
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    data = out.getvalue()
    assert b"JavaScript" not in data and b"OpenAction" not in data
    return data


def _pdf_with_attachment() -> bytes:
    pdf = pikepdf.Pdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.attachments["run.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00 payload")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _pdf_with_password() -> bytes:
    pdf = pikepdf.Pdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    return out.getvalue()


def _png_with_html_chunk_at_the_start() -> bytes:
    """HTML in a tEXt chunk right after IHDR, where a sniffing browser looks."""
    png = png_bytes()
    body = b"tEXt" + b"Comment\x00" + HTML
    chunk = len(body[4:]).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    return png[:33] + chunk + png[33:]


def _pdf_page(width_pt: float, height_pt: float) -> bytes:
    """A few hundred bytes whose one page renders at 144 dpi to width x height x 4 pixels."""
    pdf = pikepdf.Pdf.new()
    pdf.add_blank_page(page_size=(width_pt, height_pt))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _pdf_drawing_bomb() -> bytes:
    """About 80 kB whose page description inflates to 40 MB of drawing (13 s of rendering per view before)."""
    pdf = pikepdf.Pdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.pages[0].Contents = pdf.make_stream(b"0 0 m 1 1 l S\n" * (40 * 1_048_576 // 14))
    out = io.BytesIO()
    pdf.save(out, compress_streams=True)
    return out.getvalue()


def _pdf_pages(count: int) -> bytes:
    pdf = pikepdf.Pdf.new()
    for _ in range(count):
        pdf.add_blank_page(page_size=(100, 100))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


CASES = [
    ("truncated JPEG", "r.jpg", _truncated_jpeg, "file_corrupt"),
    ("PNG with trailing HTML", "r.png", lambda: png_bytes() + HTML, "file_corrupt"),
    ("JPEG with trailing HTML", "r.jpg", lambda: jpeg_bytes() + HTML, "file_corrupt"),
    ("PNG with HTML in its first KiB", "r.png", _png_with_html_chunk_at_the_start, "file_corrupt"),
    ("6000x6000 PNG", "r.png", lambda: _big_png(6000, 6000), "image_too_large"),
    ("PDF with /OpenAction JavaScript", "r.pdf", lambda: pdf_bytes("app.alert(1)"), "pdf_active_content"),
    ("PDF with JavaScript in an object stream", "r.pdf", _pdf_js_in_object_stream, "pdf_active_content"),
    ("PDF with an embedded file", "r.pdf", _pdf_with_attachment, "pdf_active_content"),
    ("%PDF+HTML polyglot", "r.pdf", lambda: b"%PDF-1.4\n" + HTML + b"\n%%EOF\n", "file_corrupt"),
    ("PDF with trailing HTML", "r.pdf", lambda: pdf_bytes() + HTML, "file_corrupt"),
    ("password-protected PDF", "r.pdf", _pdf_with_password, "pdf_encrypted"),
    ("PDF with one 6000x6000 pt page", "r.pdf", lambda: _pdf_page(6000, 6000), "pdf_page_too_large"),
    ("PDF whose drawing inflates to 40 MB", "r.pdf", _pdf_drawing_bomb, "pdf_too_complex"),
    ("PDF of 51 pages", "r.pdf", lambda: _pdf_pages(51), "pdf_too_many_pages"),
]


async def _draft(client) -> tuple[dict[str, str], dict]:
    """SG0000000001 referred to the city hospital, with a draft claim for one visit there (R10)."""
    clerk = await staff_headers(client, "clerk_zj_dh")
    hospital = await facility_id(client, HOSPITAL)
    referral = await client.post(
        "/v1/counter/referrals",
        json={
            "id_number": member_entry(client, "SG0000000001")["id_number"],
            "target_facility_id": hospital,
            "valid_from": "2026-11-24",
            "valid_to": "2026-12-31",
        },
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert referral.status_code == 201, referral.text
    member = await member_headers(client)
    body = {
        "kind": "referral",
        "referral_id": referral.json()["id"],
        "items": [{"care_date": "2026-11-24", "facility_id": hospital, "compliant_fen": 100}],
    }
    return member, await draft_claim(client, member, body)


def _blobs(client) -> int:
    return sum(len(files) for _, _, files in os.walk(os.path.join(client.settings.data_dir, "blobs")))


@pytest.mark.parametrize(("label", "name", "make", "code"), CASES, ids=[c[0] for c in CASES])
async def test_r9_hostile_receipt_files_are_refused_and_nothing_is_stored(client, label, name, make, code):
    member, claim = await _draft(client)
    blobs_before = _blobs(client)
    files = [("files", ("ok.png", png_bytes(), "image/png")), ("files", (name, make(), "application/octet-stream"))]
    body = assert_problem(await add_receipt(client, member, claim, files=files), 422, code)
    assert body["errors"][0]["field"] == "files[1]"
    assert await Receipt.count() == 0
    assert _blobs(client) == blobs_before


async def test_r9_well_formed_files_are_accepted(client):
    member, claim = await _draft(client)
    files = [
        ("files", ("photo.jpg", jpeg_bytes(), "image/jpeg")),
        ("files", ("scan.png", _big_png(4000, 6000), "image/png")),  # 24 megapixels: the budget, exactly
        ("files", ("list.pdf", pdf_bytes(), "application/pdf")),
    ]
    response = await add_receipt(client, member, claim, files=files)
    assert response.status_code == 201, response.text
    assert await Receipt.count() == 3


async def test_r11_stored_files_are_served_as_sandboxed_downloads_with_clean_names(client):
    member, claim = await _draft(client)
    files = [
        ("files", ("../../etc/收据\u202egnp.html", png_bytes(), "image/png")),
        ("files", ('list"; x=1.pdf', pdf_bytes(), "application/pdf")),
    ]
    added = await add_receipt(client, member, claim, files=files)
    assert added.status_code == 201, added.text
    receipts = added.json()["items"][0]["receipts"]
    rows = await Receipt.select(Receipt.filename).order_by(Receipt.id)
    assert [r["filename"] for r in rows] == ["收据gnp.png", "list_x=1.pdf"]

    reviewer = await staff_headers(client, "reviewer_agency")
    for path, headers in (
        (f"/v1/me/claims/{claim['id']}/receipts/{receipts[0]['id']}", member),
        (f"/v1/review/claims/{claim['id']}/receipts/{receipts[0]['id']}", reviewer),
    ):
        served = await client.get(path, headers=headers)
        assert served.status_code == 200 and served.content == png_bytes()
        assert served.headers["content-type"] == "image/png"
        assert served.headers["content-disposition"] == (
            "attachment; filename=\"__gnp.png\"; filename*=UTF-8''%E6%94%B6%E6%8D%AEgnp.png"
        )
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["content-security-policy"] == "sandbox"
        assert "no-store" in served.headers["cache-control"]
    pdf = await client.get(f"/v1/me/claims/{claim['id']}/receipts/{receipts[1]['id']}", headers=member)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith('attachment; filename="list_x=1.pdf"')


async def test_a_file_name_with_a_control_character_names_the_field(client):
    member, claim = await _draft(client)
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="item_id"\r\n\r\n{claim["items"][0]["id"]}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="ok.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    body += png_bytes() + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="'.encode()
    body += b'evil\x00.png"\r\nContent-Type: image/png\r\n\r\n' + png_bytes() + f"\r\n--{boundary}--\r\n".encode()
    response = await client.post(
        f"/v1/me/claims/{claim['id']}/receipts",
        content=body,
        headers={
            **member,
            "content-type": f"multipart/form-data; boundary={boundary}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    problem = assert_problem(response, 422, "control_character")
    assert [e["field"] for e in problem["errors"]] == ["files[1].filename"]
    assert await Receipt.count() == 0


async def test_issue_26_a_receipt_form_without_its_files_part_is_a_form_error(client):
    """``POST /app/claims/{id}/receipts`` with ``item_id`` and no ``files`` part answered 500: now the form's own
    refusal, in words, and nothing stored."""
    _, claim = await _draft(client)
    client.clock.advance(61)  # the next SMS code to this phone may go out after a minute
    await page_login(client, "SG0000000001")
    path = f"/app/claims/{claim['id']}"
    token = await csrf(client, path)
    data = {"item_id": str(claim["items"][0]["id"]), "_csrf_token": token}
    page = await client.post(f"{path}/receipts", data=data, files=[("other", ("x.txt", b"x", "text/plain"))])
    assert page.status_code == 422 and 'data-problem="file_required"' in page.text, page.text[:300]
    scripted = await client.post(
        f"{path}/receipts",
        data={**data, "_csrf_token": await csrf(client, path)},
        files=[("other", ("x.txt", b"x", "text/plain"))],
        headers={"X-Requested-With": "fetch"},
    )
    assert scripted.status_code == 422 and scripted.json()["code"] == "file_required"
    assert await Receipt.count() == 0
