"""QR rendering (PNG and SVG). A fixed mask pattern skips qrcode's costly automatic mask search."""

from __future__ import annotations

import io

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from member_api.credential import qr_speedups

qr_speedups.install()

BORDER = 4
MASK_PATTERN = 2


def _qr(token: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=BORDER, mask_pattern=MASK_PATTERN)
    qr.add_data(token.encode("ascii"), optimize=0)
    qr.make(fit=True)
    return qr


def version_for(token: str) -> int:
    return int(_qr(token).version)


def _box_size(qr: qrcode.QRCode, size_px: int) -> int:
    modules = qr.modules_count + 2 * BORDER
    return max(1, size_px // modules)


def png(token: str, size_px: int) -> bytes:
    """Draw the module matrix as a 1-pixel-per-module bitmap, then scale: far cheaper than per-box drawing."""
    qr = _qr(token)
    matrix = qr.get_matrix()
    n = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    box = _box_size(qr, size_px)
    img = Image.frombytes("L", (n, n), pixels).convert("1").resize((n * box, n * box), Image.Resampling.NEAREST)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


def svg(token: str, size_px: int) -> bytes:
    """One SVG path of unit squares in a viewBox of modules; the client scales it without blur."""
    matrix = _qr(token).get_matrix()
    n = len(matrix)
    path = "".join(f"M{x} {y}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_px}" height="{size_px}" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges"><rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    ).encode()
