"""Receipts and evidence as pictures for the reviewer's viewer: images as they are, PDF pages rendered on the server
as PNG with pypdfium2 (PDFium), so the browser never runs a PDF viewer or a script from the document.

Rendering runs in a child process with a memory and CPU limit and a wall-clock timeout (``pdf_render.py``): uploads
are bounded (core/uploads.py), and a file stored before those bounds, or one that slips past them, still costs no
more than the limits."""

from __future__ import annotations

import asyncio
import sys
from functools import lru_cache
from pathlib import Path

import pypdfium2

from member_api.core.errors import DomainError, not_found
from member_api.core.uploads import PDF_MAX_PAGES, PDF_RENDER_SCALE

PDF = "application/pdf"
MAX_PAGES = PDF_MAX_PAGES
SCALE = PDF_RENDER_SCALE  # 144 dpi: receipts stay legible when zoomed in
RENDER_TIMEOUT_S = 15.0
RENDERER = Path(__file__).with_name("pdf_render.py")


@lru_cache(maxsize=256)
def _page_count(data: bytes) -> int:
    pdf = pypdfium2.PdfDocument(data)
    try:
        return min(len(pdf), MAX_PAGES)
    finally:
        pdf.close()


def page_count(data: bytes, content_type: str) -> int:
    if content_type != PDF:
        return 1
    try:
        return _page_count(data)
    except pypdfium2.PdfiumError:
        return 0


def _not_renderable() -> DomainError:
    return DomainError(
        "page_not_renderable",
        "该页面过于复杂，无法显示，请下载原文件查看",
        "The page is too costly to render; download the original file.",
    )


async def _render(data: bytes, index: int) -> bytes:
    """The page as PNG, from a child process that the limits (memory, CPU, wall clock) end when exceeded."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        str(RENDERER),
        str(index),
        str(SCALE),
        str(MAX_PAGES),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(RENDER_TIMEOUT_S):
            png, _ = await child.communicate(data)
    except TimeoutError:
        child.kill()
        await child.wait()
        raise _not_renderable() from None
    if child.returncode == 3 or child.returncode == 4:
        raise not_found("页面", "page")
    if child.returncode != 0 or not png:
        raise _not_renderable()
    return png


async def page_image(data: bytes, content_type: str, index: int) -> tuple[bytes, str]:
    """(bytes, media type) of page ``index``: the image itself, or the PDF page as PNG."""
    if content_type != PDF:
        if index != 0:
            raise not_found("页面", "page")
        return data, content_type
    return await _render(data, index), "image/png"


def picture_headers() -> dict[str, str]:
    return {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
