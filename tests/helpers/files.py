"""Small valid upload files: a PNG and a minimal PDF."""

import io

from PIL import Image


def png_bytes(size: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
