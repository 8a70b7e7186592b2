"""The e-credential QR (R8: the member identifies at the counter with the e-credential) decodes to the exact token.

The renderer is zxing-cpp's writer (zint inside); the decoder here is OpenCV's, a separate implementation, so a
bug shared by one library's encoder and decoder cannot hide.
"""

from __future__ import annotations

import io
import random
import re
import string
from xml.etree import ElementTree

import cv2
import numpy as np
import pytest
from PIL import Image

from member_api.credential import render

B64URL = string.ascii_letters + string.digits + "-_"
RUN = re.compile(r"M(\d+) (\d+)h(\d+)v1h-\d+z")


def _token(rng: random.Random, payload: int = 110) -> str:
    """Shaped like a credential: header.payload.signature in base64url (an Ed25519 signature is 86 characters)."""
    header = "eyJhbGciOiJFZERTQSIsImtpZCI6I" + "".join(rng.choices(B64URL, k=16))
    return ".".join((header, "".join(rng.choices(B64URL, k=payload)), "".join(rng.choices(B64URL, k=86))))


def _decode(image: Image.Image) -> str:
    if image.width < 200:  # 1-2 pixels a module (size=120): enlarge as a phone camera would see it
        image = image.resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
    text, _points, _ = cv2.QRCodeDetectorAruco().detectAndDecode(np.asarray(image.convert("L")))
    return str(text)


@pytest.mark.parametrize(("size", "tokens"), [(120, 5), (300, 30), (1200, 2)])
def test_r8_credential_png_decodes_to_the_exact_token_with_another_decoder(size, tokens):
    rng = random.Random(size)
    for _ in range(tokens):
        token = _token(rng, payload=rng.randint(60, 140))
        image = Image.open(io.BytesIO(render.png(token, size)))
        assert image.format == "PNG" and image.width == image.height <= size
        assert _decode(image) == token


def test_r8_credential_svg_has_the_same_modules_as_the_png_and_scales():
    token = _token(random.Random(7))
    root = ElementTree.fromstring(render.svg(token, 300))
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("width") == root.get("height") == "300"
    n = int(root.get("viewBox", "").split()[2])
    assert n == 17 + 4 * render.version_for(token) + 2 * render.BORDER
    path = root.find(".//{http://www.w3.org/2000/svg}path")
    assert path is not None
    runs = RUN.findall(path.get("d", ""))
    assert "".join(m.group(0) for m in RUN.finditer(path.get("d", ""))) == path.get("d")
    grid = Image.new("L", (n, n), 255)
    for x, y, w in runs:
        grid.paste(0, (int(x), int(y), int(x) + int(w), int(y) + 1))
    png = Image.open(io.BytesIO(render.png(token, 300))).convert("L")
    assert png.width % n == 0
    assert grid.resize(png.size, Image.Resampling.NEAREST).tobytes() == png.tobytes()
    assert _decode(grid.resize((n * 4, n * 4), Image.Resampling.NEAREST)) == token
