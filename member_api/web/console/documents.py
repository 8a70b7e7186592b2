"""Receipts and evidence as pictures for the reviewer's viewer: images as they are, PDF pages rendered on the server
as PNG with pypdfium2 (PDFium), so the browser never runs a PDF viewer or a script from the document."""

from __future__ import annotations

import io
from functools import lru_cache

import anyio
import pypdfium2

from member_api.core.errors import not_found

PDF = "application/pdf"
MAX_PAGES = 50
SCALE = 2.0  # 144 dpi: receipts stay legible when zoomed in


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


def _render(data: bytes, index: int) -> bytes:
    pdf = pypdfium2.PdfDocument(data)
    try:
        if not 0 <= index < min(len(pdf), MAX_PAGES):
            raise not_found("页面", "page")
        bitmap = pdf[index].render(scale=SCALE)
        out = io.BytesIO()
        bitmap.to_pil().save(out, format="PNG", optimize=False)
        return out.getvalue()
    finally:
        pdf.close()


async def page_image(data: bytes, content_type: str, index: int) -> tuple[bytes, str]:
    """(bytes, media type) of page ``index``: the image itself, or the PDF page as PNG."""
    if content_type != PDF:
        if index != 0:
            raise not_found("页面", "page")
        return data, content_type
    try:
        return await anyio.to_thread.run_sync(_render, data, index), "image/png"
    except pypdfium2.PdfiumError:
        raise not_found("页面", "page") from None


def picture_headers() -> dict[str, str]:
    return {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
