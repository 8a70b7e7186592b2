"""The staff console in Chromium against a real two-process server: the counter (keyboard only: scan, bill, quote,
settle, print, reverse), the reviewer (a claim, the receipt viewer, per-item decisions), the officer (close a month,
download the XLSX) and roles (a clerk cannot open review or agency pages). Screenshots go to artifacts/browser/."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest_asyncio

from member_api.core.clock import LOCAL_TZ
from tests.helpers.console import console_login, credential_token, submitted_referral_claim
from tests.helpers.live import bearer, client_from, db_rows, login_staff, member

DESKTOP = {"width": 1366, "height": 900}


async def image_loaded(image: Any) -> None:
    """The page's CSP forbids eval, so no wait_for_function: poll the image instead."""
    for _ in range(100):
        if await image.evaluate("i => i.complete && i.naturalWidth > 0"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the viewer's image did not load")


@pytest_asyncio.fixture
async def desk(browser: Any, server: Any) -> AsyncIterator[Any]:
    """A fresh desktop browser (own cookies) on the server; page errors fail the test."""
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN", base_url=server.url, accept_downloads=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        await context.close()
    assert errors == [], errors


async def test_r8_r11_clerk_scans_quotes_settles_prints_and_reverses_with_the_keyboard(
    desk: Any, server: Any, shots: Any
):
    page = desk
    token = await credential_token(server, "SG0000000001")
    await console_login(page, "clerk_zj_dh")
    await page.wait_for_url("**/console/counter")
    await shots(page, "console-01-counter-scan")

    # The scan field has the focus: a scanner in keyboard mode types the QR's token and Enter.
    assert await page.evaluate("document.activeElement.id") == "scan"
    await page.keyboard.type(token, delay=0)
    await page.keyboard.press("Enter")
    await page.get_by_test_id("member").wait_for()
    assert (await page.get_by_test_id("member-name").inner_text()).startswith("陈")
    assert "本机构为约定机构" in await page.get_by_test_id("member").inner_text()
    assert await page.evaluate("document.activeElement.id") == "item-search"  # R18: lines first
    await page.click("details.manual summary")  # the transition's three typed totals (manual entry)
    await page.focus("#general_fee")

    # A bad amount is refused in words, next to its field (never rounded).
    await page.keyboard.type("10.005")
    await page.keyboard.press("Enter")
    await page.locator(".field-error").first.wait_for()
    assert "最多两位小数" in await page.locator(".field-error").first.inner_text()
    await shots(page, "console-02-counter-bill-error")

    # E1: general fee 10.00, compliant 40.00, non-compliant 15.00 at the designated township centre.
    await page.fill("#general_fee", "")
    await page.focus("#general_fee")
    await page.keyboard.type("10")
    await page.keyboard.press("Tab")
    await page.keyboard.type("40.00")
    await page.keyboard.press("Tab")
    await page.keyboard.type("15")
    await page.keyboard.press("Enter")
    await page.get_by_test_id("quote").wait_for()
    assert await page.get_by_test_id("quote-fund").inner_text() == "35.00"
    assert await page.get_by_test_id("quote-member").inner_text() == "30.00"
    await shots(page, "console-03-counter-quote")

    assert await page.evaluate("document.activeElement.id") == "settle-button"
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r".*/console/counter/settlements/\d+/receipt$"))
    receipt_id = await page.get_by_test_id("receipt-id").inner_text()
    assert await page.get_by_test_id("receipt-fund").inner_text() == "35.00 元"
    assert await page.get_by_test_id("receipt-member").inner_text() == "30.00 元"
    await shots(page, "console-04-counter-receipt")

    # Print: the print stylesheet hides the console and prints the 80 mm receipt alone.
    await page.emulate_media(media="print")
    assert await page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "none"
    assert await page.evaluate("getComputedStyle(document.querySelector('.receipt-tools')).display") == "none"
    width_px = await page.evaluate("document.querySelector('.receipt').getBoundingClientRect().width")
    assert 270 < width_px < 300, width_px  # 76 mm at 96 dpi
    await shots(page, "console-05-receipt-print-80mm")
    await page.goto(page.url + "?paper=a5")
    width_px = await page.evaluate("document.querySelector('.receipt').getBoundingClientRect().width")
    assert width_px > 400, width_px
    await shots(page, "console-06-receipt-print-a5")
    await page.emulate_media(media="screen")

    # Today's settlements: reverse with a reason after a confirmation.
    await page.goto("/console/counter/today")
    row = page.locator(f"tr[data-settlement='{receipt_id}']")
    assert "有效" in await row.inner_text()
    await shots(page, "console-07-counter-today")
    await page.get_by_test_id(f"reverse-{receipt_id}").click()
    await page.wait_for_url(f"**/counter/settlements/{receipt_id}/reverse")
    dialogs: list[str] = []

    async def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await page.keyboard.type("收费录入错误")
    await shots(page, "console-08-counter-reverse")
    await page.click("#reverse-button")
    await page.wait_for_url("**/console/counter/today")
    assert dialogs and "不能撤销" in dialogs[0]
    assert "已冲正结算" in await page.locator(".notice").first.inner_text()
    assert "已冲正" in await page.locator(f"tr[data-settlement='{receipt_id}']").inner_text()
    await shots(page, "console-09-counter-reversed")


async def test_r10_reviewer_takes_a_claim_zooms_a_receipt_approves_one_item_and_rejects_another(
    desk: Any, server: Any, shots: Any
):
    page = desk
    claim = await submitted_referral_claim(server)
    await console_login(page, "reviewer_agency")
    await page.wait_for_url("**/console/review/claims")
    await page.select_option("select[name=kind]", "referral")
    await page.select_option("select[name=status]", "submitted")
    await page.click("#claim-filters button[type=submit]")
    await page.get_by_test_id(f"claim-{claim['id']}").wait_for()
    await shots(page, "console-10-review-queue")
    await page.get_by_test_id(f"claim-{claim['id']}").click()
    await page.click("#take-button")
    await page.get_by_test_id("approve-1").wait_for()

    # The viewer: the photo, then the PDF's two pages rendered as images; zoom and rotate.
    image = page.get_by_test_id("viewer-image")
    assert await page.get_by_test_id("viewer-count").inner_text() == "1 / 3"
    assert await image.evaluate("i => i.complete && i.naturalWidth > 0")
    await page.click("[data-view=in]")
    await page.click("[data-view=in]")
    assert await image.get_attribute("data-zoom") == "1.5"
    assert await page.get_by_test_id("viewer-zoom").inner_text() == "150%"
    await page.click("[data-view=rotate]")
    assert await image.get_attribute("data-rotation") == "90"
    await shots(page, "console-11-review-receipt-zoomed")
    await page.click("[data-view=next]")
    assert "PDF 第 1/2 页" in await page.get_by_test_id("viewer-label").inner_text()
    await image_loaded(image)
    await page.keyboard.press("ArrowRight")
    assert "PDF 第 2/2 页" in await page.get_by_test_id("viewer-label").inner_text()
    await image_loaded(image)
    await shots(page, "console-12-review-pdf-page")

    # A rejection needs a reason; then item 1 approved (paid), item 2 rejected.
    page.on("dialog", lambda dialog: dialog.accept())
    await page.check("[data-testid=approve-1]")
    await page.check("[data-testid=reject-2]")
    await page.click("#decide-button")
    await page.locator(".field-error").first.wait_for()
    await page.fill("[data-testid=reason-2]", "票据与费用清单不符")
    await page.click("#decide-button")
    await page.get_by_text("审核完成").wait_for()
    assert await page.get_by_test_id("claim-status").inner_text() == "部分通过"
    assert await page.get_by_test_id("item-fund-1").inner_text() == "100.00"  # tertiary 50% of 200.00 (R7)
    assert await page.get_by_test_id("item-fund-2").inner_text() == "—"
    assert await page.get_by_test_id("claim-paid").inner_text() == "100.00 元"
    await shots(page, "console-13-review-decided")


async def test_clerk_cannot_open_review_or_agency_pages_and_the_reviewer_no_counter(desk: Any, server: Any, shots: Any):
    page = desk
    await console_login(page, "clerk_zj_dh_station")
    for path in ("/console/review/claims", "/console/review/disputes", "/console/agency"):
        response = await page.goto(path)
        assert response.status == 403, path
        assert "无权" in await page.locator(".error-message").inner_text()
    await shots(page, "console-14-clerk-forbidden")
    await page.goto("/console/counter")
    await page.click("text=退出")
    await page.wait_for_url("**/console/login")
    await console_login(page, "reviewer_agency_2")
    response = await page.goto("/console/counter")
    assert response.status == 403
    # Not logged in: the login page, which names where to come back to.
    await page.context.clear_cookies()
    await page.goto("/console/review/claims")
    assert "/console/login?next=" in page.url


async def test_r13_officer_closes_a_month_and_downloads_an_xlsx_that_opens(
    desk: Any, server: Any, shots: Any, tmp_path
):
    from openpyxl import load_workbook

    page = desk
    await console_login(page, "officer_agency")
    await page.wait_for_url("**/console/agency")
    await shots(page, "console-15-agency-before-close")
    dialogs: list[str] = []

    async def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    period = await page.input_value("#period")
    await page.check("input[name=confirm]")
    await page.click("#close-button")
    await page.get_by_test_id("statements").wait_for()
    assert dialogs and "不能撤销" in dialogs[0]
    assert "已月结" in await page.locator(".notice").first.inner_text()
    chart = page.get_by_test_id("chart")
    assert await chart.evaluate("i => i.complete && i.naturalWidth > 0")
    await shots(page, "console-16-agency-statements")

    async with page.expect_download() as info:
        await page.get_by_test_id("download-xlsx").click()
    download = await info.value
    year, month = (int(x) for x in period.split("-"))
    assert download.suggested_filename == f"capitation-{year}-{month:02d}.xlsx"
    path = tmp_path / download.suggested_filename
    await download.save_as(path)
    book = load_workbook(path, read_only=True)
    assert book.sheetnames[0] == "月结算单"
    rows = list(book["月结算单"].iter_rows(values_only=True))
    assert len(rows) > 1 and any(isinstance(v, str) and v for v in rows[0])

    for path_, name in (
        ("/console/agency/year", "console-17-agency-year"),
        ("/console/agency/reports", "console-18-agency-reports"),
        ("/console/agency/assessment", "console-19-agency-assessment"),
        ("/console/agency/signals", "console-20-agency-signals"),
    ):
        response = await page.goto(path_)
        assert response.status == 200, path_
        await shots(page, name)


async def test_r13_r16_officer_pages_speak_the_officers_language_fund_quality_reports_signals(
    desk: Any, server: Any, shots: Any
):
    """Issue 32: the adjustment fund's ledger and an allocation refused in words, the quality assessment entered,
    a unit's month with its submission, signals in Chinese; names, never ``staff:7`` or internal codes."""
    page = desk
    # Two settlements of one member at one counter today, one of them reversed: still a same-day pattern (P2).
    today = datetime.now(LOCAL_TZ).date().isoformat()
    async with client_from(server) as http:
        clerk = bearer(await login_staff(http, "clerk_zj_dh"))
        bill = {"visit_date": today, "id_number": member(server, "SG0000000002")["id_number"], "compliant_fen": 1000}
        ids = []
        for _ in range(2):
            made = await http.post("/v1/counter/settlements", json=bill, headers={**clerk, "Idempotency-Key": uuid4()})
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
        back = await http.post(
            f"/v1/counter/settlements/{ids[0]}/reversal",
            json={"reason": "重复录入"},
            headers={**clerk, "Idempotency-Key": uuid4()},
        )
        assert back.status_code == 201, back.text
    await console_login(page, "officer_agency")
    await page.wait_for_url("**/console/agency")
    if await page.get_by_test_id("statements").count():
        assert "王晓梅" in await page.get_by_test_id("statements").inner_text()

    await page.goto("/console/agency/quality")
    await page.select_option("#q-institution", index=0)
    await page.fill("#q-score", "65")
    await page.fill("#q-note", "满意度偏低")
    await page.click("[data-testid=quality-form] button[type=submit]")
    assert "基本合格" in await page.locator(".notice").first.inner_text()
    table = await page.get_by_test_id("quality").inner_text()
    assert "基本合格" in table and "王晓梅" in table and "50%" in table
    await shots(page, "console-21-agency-quality")

    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.goto("/console/agency/fund")
    await page.fill("#fund-amount", "12.34")
    await page.fill("#fund-reason", "流感高峰就诊量上升")
    await page.click("[data-testid=allocate-form] button[type=submit]")
    notice = await page.locator(".notice").first.inner_text()
    assert "调节金" in notice or "清算" in notice or "余额" in notice, notice
    await shots(page, "console-22-agency-fund")

    await page.goto("/console/agency/reports")
    first = page.locator("table.table tbody a").first
    if await first.count():
        await first.click()
        await page.get_by_test_id("submission").wait_for()
        await shots(page, "console-23-agency-report-detail")

    for path_ in ("/console/agency/signals", "/console/agency/year", "/console/agency/fund", "/console/agency/reports"):
        response = await page.goto(path_)
        assert response.status == 200, path_
        body = await page.locator("main").inner_text()
        assert not re.search(r"staff:\d|receipt [0-9a-f]{6}|same_day_repeat|split_visits", body), (path_, body[:500])
    await page.goto("/console/agency/signals")
    signals = await page.get_by_test_id("signals").inner_text()
    assert "同日结算" in signals and "其中 1 笔已冲正" in signals and "年" in signals and "元" in signals
    await shots(page, "console-24-agency-signals-in-chinese")


def uuid4() -> str:
    return str(uuid.uuid4())


async def test_r14_clerk_uploads_the_units_statistics_and_sees_the_differences(desk: Any, server: Any, shots: Any):
    page = desk
    (row,) = await db_rows(
        server,
        "SELECT COALESCE(f.parent, f.id) AS unit FROM staff s JOIN facility f ON f.id = s.facility"
        " WHERE s.username = $1",
        "clerk_zj_dh",
    )
    (unit,) = await db_rows(server, "SELECT code FROM facility WHERE id = $1", row["unit"])
    await console_login(page, "clerk_zj_dh")
    await page.goto("/console/counter/report")
    csv_text = f"机构编码,就诊人次,医疗费用总额(元),统筹支付(元),个人支付(元)\r\n{unit['code']},99,1.00,0.70,0.30\r\n"
    await page.set_input_files(
        "input[name=file]", files=[{"name": "月报.csv", "mimeType": "text/csv", "buffer": csv_text.encode("gb18030")}]
    )
    await page.click("[data-testid=submission] button[type=submit]")
    section = await page.get_by_test_id("submission").inner_text()
    assert "有差异" in section and "就诊人次" in section and "99" in section
    await shots(page, "console-25-clerk-report-submission")
