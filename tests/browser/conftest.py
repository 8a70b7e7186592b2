"""Browser tests: Playwright for Python driving Debian's Chromium against a real multi-process server.

Chromium is launched by path (``playwright install`` is never run). When it is missing the setup installs the
Debian package; if that fails the tests fail under ``CI=true`` and are skipped elsewhere. A CJK font is installed
the same way when none is present (best effort), so the screenshots saved under ``artifacts/browser/`` are legible.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.helpers.databases import IN_CI
from tests.helpers.serverproc import Server, running_server

CHROMIUM = Path(os.environ.get("MEMBER_API_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
PHONE = {"width": 360, "height": 740}


def _apt_install(*packages: str) -> bool:
    """apt-get install under a lock, so parallel test workers do not fight over dpkg."""
    if shutil.which("apt-get") is None:
        return False
    with open("/tmp/member-api-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run = [["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *packages]]
        for command in run:
            if subprocess.run(command, env=env, capture_output=True, timeout=900).returncode != 0:
                return False
    return True


def _has_cjk_font() -> bool:
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=60)
    return bool(listed.stdout.strip())


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        _apt_install("chromium")
    if not CHROMIUM.exists():
        message = f"Chromium is not at {CHROMIUM} and apt-get could not install it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    if not _has_cjk_font():
        _apt_install("fonts-wqy-microhei")  # legible screenshots only; the tests do not depend on it
    return CHROMIUM


@pytest_asyncio.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    """SQLite is enough for the browser; two worker processes, so the QR page and the clerk may meet different ones."""
    async with running_server("sqlite", tmp_path_factory.mktemp("browser"), workers=2) as running:
        running.manifest = json.loads((running.data_dir / "manifest.json").read_text(encoding="utf-8"))
        yield running


@pytest_asyncio.fixture(scope="module")
async def browser(chromium: Path) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=["--no-sandbox", "--disable-dev-shm-usage", "--lang=zh-CN"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture
async def phone(browser: Any, server: Server) -> AsyncIterator[Any]:
    """A fresh phone-sized browser (own cookies) on the server; page errors fail the test."""
    context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", base_url=server.url
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    try:
        yield page
    finally:
        await context.close()
    assert errors == [], errors


@pytest.fixture(scope="session")
def shots() -> Any:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    async def take(page: Any, name: str) -> Path:
        """Save the screen as the resident sees it, after checking nothing runs off its side."""
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: the page is {overflow}px wider than the screen"
        path = ARTIFACTS / f"{name}.png"
        await page.screenshot(path=str(path))
        return path

    return take
