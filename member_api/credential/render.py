"""QR rendering of the e-credential (PNG and SVG) through zxing-cpp's public writer API.

``zxingcpp.create_barcode`` (zxing-cpp 3.x, encoding by the zint library in C) builds the symbol and its
module matrix; a fixed data mask skips the mask search, which is most of the encoder's time and changes nothing
for a reader (ISO/IEC 18004 allows any of the eight masks; the penalty rules only pick a pretty one). Pillow
writes the PNG; the SVG is one path of module runs. Nothing here touches a library's private names; the version
range is pinned in pyproject.toml and the output is checked by a decoder other than zxing-cpp's
(tests/unit/test_credential_qr.py).
"""

from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image

BORDER = 4
"""Quiet zone in modules (ISO/IEC 18004 asks for 4); zxing-cpp adds exactly this with ``add_quiet_zones``."""
EC_LEVEL = "M"
DATA_MASK = 2
_DARK_RUN = re.compile(rb"\x00+")


def _symbol(token: str) -> zxingcpp.Barcode:
    # Text, not bytes: bytes get an ECI "binary" header that some counter scanners mishandle; an ASCII token as
    # text is encoded with no ECI (symbology identifier ]Q1) in the smallest mix of modes.
    barcode = zxingcpp.create_barcode(token, zxingcpp.BarcodeFormat.QRCode, ec_level=EC_LEVEL, data_mask=DATA_MASK)
    if not barcode.valid:
        raise ValueError("QR encoding failed")
    return barcode


def version_for(token: str) -> int:
    """The QR version (size class) the token needs: 4 modules per version above 17."""
    modules = _symbol(token).to_image(scale=1, add_quiet_zones=False).shape[0]
    return (modules - 17) // 4


def png(token: str, size_px: int) -> bytes:
    """A 1-bit PNG of at most ``size_px`` square: whole pixels per module (never blurred), quiet zone included."""
    matrix = _symbol(token).to_image(scale=1, add_quiet_zones=True)
    n = matrix.shape[0]
    box = max(1, size_px // n)
    img = Image.frombuffer("L", (n, n), matrix, "raw", "L", 0, 1).convert("1")
    if box > 1:
        img = img.resize((n * box, n * box), Image.Resampling.NEAREST)
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def svg(token: str, size_px: int) -> bytes:
    """One SVG path, a rectangle per horizontal run of dark modules, in a viewBox of modules: scales without blur.

    Drawn from the library's module matrix rather than its own SVG writer, whose run merging costs 2-45 ms
    depending on the content (measured with zxing-cpp 3.1.1); this costs a fraction of a millisecond.
    """
    matrix = _symbol(token).to_image(scale=1, add_quiet_zones=True)
    n = matrix.shape[0]
    pixels = bytes(matrix)  # n rows of n bytes: 0 dark, 255 light
    runs = []
    for y in range(n):
        row = y * n
        for run in _DARK_RUN.finditer(pixels, row, row + n):
            start, end = run.span()
            runs.append(f"M{start - row} {y}h{end - start}v1h-{end - start}z")
    path = "".join(runs)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_px}" height="{size_px}" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges"><rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    ).encode()
