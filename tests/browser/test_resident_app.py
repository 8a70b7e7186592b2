"""Issue 20: the resident H5 app in real Chromium at phone size, against a real two-process server.

Each test saves a screenshot of every main screen it passes under artifacts/browser/ (ignored by git).
"""

from __future__ import annotations

import io
import time
import uuid
from datetime import date

import httpx
import zxingcpp
from PIL import Image
from playwright.async_api import expect

from member_api.core.clock import SystemClock, local_today
from member_api.policy.claim_window import in_claim_window, next_claim_window
from tests.helpers.browser import choose_pair, clerk_headers, log_in, member
from tests.helpers.files import png_bytes


async def test_r8_resident_logs_in_binds_chooses_shows_qr_and_sees_it_used_with_the_amounts(phone, server, shots):
    """Login with the SMS code, bind, choose a pair (R2), show the QR; a clerk scans it (R8) and settles over the
    API; within 2 s the page says 已使用 with the amounts (across worker processes); the history shows the visit."""
    who = member(server, "SG0000000003")
    await phone.goto("/app/")
    await shots(phone, "01-login")
    await log_in(phone, server, who, bind=False)
    await shots(phone, "02-bind")
    await phone.fill("#id_number", who["id_number"])
    await phone.fill("#name", who["name"])
    await phone.click("form[action='/app/bind'] button[type=submit]")
    await phone.wait_for_url("**/app/")
    card = phone.locator("[data-testid=member-card]")
    assert "黄**" in await card.inner_text() and who["name"] not in await phone.content()
    assert "300.00" in await phone.locator("[data-testid=caps]").inner_text()
    await shots(phone, "03-home")

    await choose_pair(phone, "西河镇", "武江区西河镇卫生院")
    await phone.wait_for_url("**/app/clinics")
    assert "武江区西河镇卫生院" in await phone.locator("[data-testid=current-pair]").inner_text()
    await shots(phone, "04-clinics")

    await phone.goto("/app/credential")
    qr = phone.locator("#qr")
    await qr.wait_for()
    await shots(phone, "05-credential")
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(await qr.screenshot())))
    assert decoded, "the QR on screen does not scan"
    token = decoded[0].text
    assert token == await qr.get_attribute("data-token")

    headers = await clerk_headers(server, "clerk_wj_xh")
    async with httpx.AsyncClient(base_url=server.url) as http:
        settled = await http.post(
            "/v1/counter/settlements",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            json={
                "visit_date": local_today(SystemClock()).isoformat(),
                "credential": token,
                "general_fee_fen": 1000,
                "compliant_fen": 4000,
                "non_compliant_fen": 1500,
            },
        )
        assert settled.status_code == 201, settled.text
        started = time.monotonic()
        used = phone.locator("[data-testid=used]")
        await used.get_by_text("已使用").wait_for(state="visible", timeout=2000)
        assert time.monotonic() - started < 2.0
    assert await phone.locator("#used-fund").inner_text() == "35.00"  # E1: 7.00 + 28.00
    assert await phone.locator("#used-member").inner_text() == "30.00"
    await shots(phone, "06-credential-used")

    await phone.goto("/app/history")
    visit = phone.locator("[data-testid=movement]").first
    assert "武江区西河镇卫生院" in await visit.inner_text() and "35.00" in await visit.inner_text()
    chart = phone.locator("[data-testid=chart] img.chart")
    assert await chart.evaluate("img => img.complete && img.naturalWidth > 0")
    await shots(phone, "07-history")
    await visit.locator("a").click()
    detail = phone.locator("[data-testid=movement-detail]")
    await detail.wait_for()
    lines = await phone.locator("table.lines").inner_text()
    assert "一般诊疗费" in lines and "合规费用" in lines and "不合规费用" in lines
    assert "不在药品、耗材、服务目录内的费用由个人支付" in lines  # the reason in words
    await shots(phone, "08-history-detail")

    await phone.set_viewport_size({"width": 1280, "height": 800})  # the same pages on a desktop
    await phone.goto("/app/")
    await shots(phone, "19-home-desktop")

    # Secure by default: no token in web storage, the session cookie is HttpOnly and SameSite.
    assert await phone.evaluate("Object.keys(localStorage).length + Object.keys(sessionStorage).length") == 0
    cookies = {c["name"]: c for c in await phone.context.cookies()}
    assert cookies["app_session"]["httpOnly"] and cookies["app_session"]["sameSite"] == "Lax"
    assert await phone.evaluate("document.cookie") == ""


async def test_r5_r9_guardian_switches_to_the_newborn_and_files_a_claim_with_a_photo(phone, server, shots, tmp_path):
    """A guardian chooses a pair, switches to the dependant (the whole app follows), drafts a newborn claim,
    uploads a receipt photo through the file chooser with progress, and submits it (or learns the next window)."""
    guardian = member(server, "SG0000000004")
    await log_in(phone, server, guardian)
    await choose_pair(phone, "东河", "浈江区东河街道社区卫生服务中心")
    await phone.wait_for_url("**/app/clinics")

    await phone.goto("/app/")
    await phone.select_option("[data-testid=switcher]", index=1)
    await phone.wait_for_url("**/app/")
    banner = phone.locator(".acting-banner")
    assert "正在为被监护人" in await banner.inner_text()
    assert "被监护人" in await phone.locator("[data-testid=member-card]").inner_text()
    await shots(phone, "09-home-dependant")
    await phone.goto("/app/family")
    assert "被监护人" in await phone.locator("[data-testid=people]").inner_text()
    await shots(phone, "09-family")
    await phone.goto("/app/credential")
    assert "（被监护人）" in await phone.locator(".credential-who").inner_text()
    await shots(phone, "10-credential-dependant")

    await phone.goto("/app/claims")
    await shots(phone, "11-claims")
    await phone.click("[data-testid=new-newborn]")
    await phone.wait_for_url("**/app/claims/new?kind=newborn")
    today = local_today(SystemClock())
    birth = date(today.year, today.month - 1, 10) if today.month > 1 else date(today.year - 1, 12, 10)
    await phone.fill("#care_date_0", birth.replace(day=15).isoformat())  # between birth and enrollment (R5)
    await phone.fill("#general_fee_0", "10")
    await phone.fill("#compliant_0", "80.50")
    await shots(phone, "12-claim-new")
    await phone.click("#claim-form button[type=submit]")
    await phone.wait_for_url("**/app/claims/*")
    assert "草稿" in await phone.locator("[data-testid=claim-status]").inner_text()

    photo = tmp_path / "receipt.png"
    photo.write_bytes(png_bytes(64))
    async with phone.expect_file_chooser() as chooser:
        await phone.click("[data-testid=receipt-input]")
    await (await chooser.value).set_files(str(photo))
    progress: list[str] = []  # what the resident watched, reported from the page before it moves on
    await phone.expose_function("reportProgress", lambda text: progress.append(text))
    await phone.evaluate(
        """() => { const el = document.querySelector("form.upload [data-upload-text]");
        new MutationObserver(() => window.reportProgress(el.textContent)).observe(el, {childList: true}); }"""
    )
    await phone.click("form.upload button[type=submit]")
    await phone.locator("[data-testid=receipts] img").wait_for()
    assert "上传完成 100%" in progress, progress
    assert await phone.locator("[data-testid=receipts] img").evaluate("img => img.complete && img.naturalWidth > 0")
    await phone.locator("[data-testid=claim-item]").scroll_into_view_if_needed()
    await shots(phone, "13-claim-receipt")

    await phone.click("[data-testid=submit-claim]")
    await phone.wait_for_load_state()
    head = await phone.locator("[data-testid=claim-head]").inner_text()
    if in_claim_window(today):
        assert "已提交" in head
    else:
        window = next_claim_window(today)
        assert "每月最后 5 天" in head and window.start.isoformat() in head  # R9, in words, with the next window
    await shots(phone, "14-claim-submitted")


async def test_a_residents_pages_never_show_another_members_data(phone, server, shots):
    """A resident typing another member's ids into the address bar gets pages in words, never their data."""
    other = member(server, "SG0000000002")
    async with httpx.AsyncClient(base_url=server.url) as http:
        headers = await clerk_headers(server, "clerk_zj_dh")
        settled = await http.post(
            "/v1/counter/settlements",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            json={
                "visit_date": local_today(SystemClock()).isoformat(),
                "id_number": other["id_number"],
                "compliant_fen": 2000,
                "emergency": True,
            },
        )
    assert settled.status_code == 201, settled.text
    await log_in(phone, server, member(server, "SG0000000001"))
    response = await phone.goto(f"/app/history/{settled.json()['id']}")
    assert response.status == 404
    assert "结算记录不存在" in await phone.locator("main").inner_text()
    await shots(phone, "15-not-found")
    response = await phone.goto("/app/acting")  # a GET on a form target: refused in words, not raw JSON
    assert response.status == 405 and "{" not in await phone.locator("main").inner_text()
    await phone.goto("/app/history")
    assert "李**" not in await phone.content() and other["id_number"][-4:] not in await phone.content()


async def test_r2_near_me_first_choice_then_a_change_request_with_an_evidence_photo(phone, server, shots, tmp_path):
    """ "Near me" from the browser's location, the first choice of the year at once, then a change that needs a
    request with a photo taken by the phone's camera input; its status and the designation history show."""
    await phone.context.grant_permissions(["geolocation"], origin=server.url)
    await phone.context.set_geolocation({"latitude": 24.792, "longitude": 113.588})  # 武江区 seat
    await log_in(phone, server, member(server, "SG0000000002"))
    await phone.goto("/app/clinics")
    await phone.click("[data-testid=near-me]")
    await phone.wait_for_url("**near=*")
    first = phone.locator("[data-testid=results] a.facility").first
    assert "公里" in await first.inner_text()
    assert "武江区西河镇卫生院" in await first.inner_text()  # the closest institution to that point
    await shots(phone, "16-clinics-near-me")

    await choose_pair(phone, "西河镇", "武江区西河镇卫生院")
    await phone.wait_for_url("**/app/clinics")
    await choose_pair(phone, "新华街道", "武江区新华街道社区卫生服务中心")
    assert "/app/clinics/change" in phone.url  # a second change this year needs a reviewed request
    await phone.select_option("#reason", "relocation")
    await phone.fill("#reason_text", "已搬到新华街道居住")
    photo = tmp_path / "evidence.png"
    photo.write_bytes(png_bytes(80))
    async with phone.expect_file_chooser() as chooser:
        await phone.click("[data-testid=evidence-camera]")
    await (await chooser.value).set_files(str(photo))
    await shots(phone, "17-change-request")
    await phone.click("form[action='/app/clinics/change'] button[type=submit]")
    await phone.wait_for_url("**/app/clinics")
    status = phone.locator("[data-testid=request-status]").first
    assert await status.inner_text() == "待审核"
    history = await phone.locator("[data-testid=designation-history]").inner_text()
    assert "武江区西河镇卫生院" in history and "首次选定" in history
    await phone.locator("[data-testid=requests]").scroll_into_view_if_needed()
    await shots(phone, "18-change-request-status")


async def test_r1_history_loads_further_pages_as_the_resident_scrolls(phone, server, shots):
    """Twelve visits of a member not paid up this year (R1: the fund pays nothing, and the page says why): the
    history shows ten, then the next keyset page arrives when the list's end scrolls into view."""
    unpaid = member(server, "SG0000000006")
    headers = await clerk_headers(server, "clerk_zj_dh")
    async with httpx.AsyncClient(base_url=server.url) as http:
        for n in range(12):
            settled = await http.post(
                "/v1/counter/settlements",
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                json={
                    "visit_date": local_today(SystemClock()).isoformat(),
                    "id_number": unpaid["id_number"],
                    "compliant_fen": 1000 + n,
                },
            )
            assert settled.status_code == 201, settled.text
    await log_in(phone, server, unpaid)
    assert "暂无待遇" in await phone.locator("[data-testid=eligibility]").inner_text()
    await phone.goto("/app/history")
    rows = phone.locator("[data-testid=movement]")
    assert await rows.count() == 10
    await phone.locator("a.more").scroll_into_view_if_needed()
    await expect(rows).to_have_count(12)
    await phone.get_by_text("没有更多了").wait_for()
    await shots(phone, "20-history-scrolled")
    await rows.last.locator("a").click()
    reasons = await phone.locator("[data-testid=movement-detail]").inner_text()
    assert "0.00" in reasons
    assert "就诊当年未参保或未缴费，统筹基金不支付" in await phone.locator("main").inner_text()
