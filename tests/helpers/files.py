"""Small valid upload files (a PNG, a JPEG, a one-page PDF) and hostile variants of them."""

import io

import pikepdf
from PIL import Image


def png_bytes(size: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(size: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def pdf_bytes(open_action_js: str | None = None) -> bytes:
    """A one-page PDF written by qpdf; with ``open_action_js``, JavaScript that runs when it is opened."""
    pdf = pikepdf.Pdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    if open_action_js is not None:
        pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String(open_action_js))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


PDF = pdf_bytes()
