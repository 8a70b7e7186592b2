"""R18 and E9 in the console: the clerk enters a bill as catalogue lines with the keyboard only (search by pinyin
initials or code, count, price, running total, Enter to quote), settles and prints a receipt listing the lines; the
reviewer sees a claimed visit's lines beside its receipt images. Screenshots go to artifacts/browser/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from tests.helpers.browser import member
from tests.helpers.console import console_login, submitted_referral_claim

DESKTOP = {"width": 1366, "height": 900}


@pytest_asyncio.fixture
async def desk(browser: Any, server: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN", base_url=server.url)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        await context.close()
    assert errors == [], errors


async def add_line(page: Any, query: str, count: str, price: str, expect_name: str) -> None:
    """Type into the search, Enter takes the first entry found; count, Enter, price, Enter back to the search."""
    await page.keyboard.type(query)
    await page.keyboard.press("Enter")
    row = page.locator("#line-rows tr[data-line]").last
    await row.locator(".line-name", has_text=expect_name).wait_for()
    assert await page.evaluate("document.activeElement.name") == "line_count"
    await page.keyboard.type(count)
    await page.keyboard.press("Enter")
    await page.keyboard.type(price)
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "item-search"


async def test_e9_r18_clerk_enters_lines_quotes_settles_and_the_receipt_lists_them(desk: Any, server: Any, shots: Any):
    page = desk
    await console_login(page, "clerk_zj_dh")
    await page.wait_for_url("**/console/counter")
    await page.keyboard.type(member(server, "SG0000000001")["id_number"])
    await page.keyboard.press("Enter")
    await page.get_by_test_id("member").wait_for()
    assert await page.evaluate("document.activeElement.id") == "item-search"

    # Suggestions while typing: pinyin initials find 阿莫西林胶囊 with its category.
    await page.keyboard.type("amxl")
    suggestion = page.get_by_test_id("item-suggestions").locator("li").first
    await suggestion.wait_for()
    assert "阿莫西林胶囊" in await suggestion.inner_text() and "甲类" in await suggestion.inner_text()
    await shots(page, "console-20-counter-line-search")
    await page.keyboard.press("Enter")
    await page.keyboard.type("2")
    await page.keyboard.press("Enter")
    await page.keyboard.type("12.50")
    await page.keyboard.press("Enter")
    # Enter at once after typing a code prefix (before the suggestions arrive) still takes the entry found.
    await add_line(page, "XJ01DDA", "1", "40", "头孢克肟片")
    await add_line(page, "fhwss", "1", "15.00", "复合维生素片")
    await add_line(page, "jmsy", "2", "30", "静脉输液")
    assert await page.get_by_test_id("lines-total").inner_text() == "140.00"
    assert await page.get_by_test_id("bill-total").inner_text() == "140.00"
    await shots(page, "console-21-counter-lines")

    await page.keyboard.press("Enter")  # the search is empty: quote
    await page.get_by_test_id("quote").wait_for()
    assert await page.get_by_test_id("quote-fund").inner_text() == "77.70"
    assert await page.get_by_test_id("quote-member").inner_text() == "62.30"
    funds = await page.get_by_test_id("quote-line-fund").all_inner_texts()
    assert funds == ["17.50", "25.20", "0.00", "35.00"]
    await shots(page, "console-22-counter-lines-quote")

    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r".*/console/counter/settlements/\d+/receipt$"))
    assert await page.get_by_test_id("receipt-fund").inner_text() == "77.70 元"
    lines = await page.get_by_test_id("receipt-line").all_inner_texts()
    assert len(lines) == 4 and "阿莫西林胶囊" in lines[0] and "甲类" in lines[0]
    await shots(page, "console-23-counter-lines-receipt")


async def test_r18_reviewer_sees_a_claimed_visits_lines_beside_its_receipt_images(desk: Any, server: Any, shots: Any):
    page = desk
    lines = [
        {"line_no": 1, "code": "XJ01CAA040E001010100461", "count": 2, "unit_price_fen": 1250},
        {"line_no": 2, "code": "001204000030000", "count": 2, "unit_price_fen": 3000},
    ]
    claim = await submitted_referral_claim(server, lines=lines)
    await console_login(page, "reviewer_agency")
    await page.goto(f"/console/review/claims/{claim['id']}")
    shown = page.get_by_test_id("item-lines-1").get_by_test_id("claim-line")
    assert await shown.count() == 2
    assert "阿莫西林胶囊" in await shown.first.inner_text()
    assert "手工录入" in await page.get_by_test_id("item-lines-2").inner_text()
    lines_box = await page.get_by_test_id("item-lines-1").bounding_box()
    viewer_box = await page.locator("#viewer").bounding_box()
    assert lines_box and viewer_box and viewer_box["x"] > lines_box["x"]  # side by side
    await shots(page, "console-24-review-claim-lines")
