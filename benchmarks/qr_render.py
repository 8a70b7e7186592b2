"""E-credential QR render time in-process (issue 19: PNG <= 1.5 ms median), with a real credential token.

    .venv/bin/python -m benchmarks.qr_render [--renders 2000] [--size 300]

Each render gets a fresh token of a random subject (as the route does: a new ``jti`` every time), so nothing
is cached between renders. Prints the median and p90 of PNG and SVG, the QR version and the library versions.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from benchmarks.common import machine
from member_api.core.keys import load_keyring
from member_api.credential import render, tokens

BUDGET_MS = 1.5


def _times(renderer: object, all_tokens: list[str], size: int) -> list[float]:
    samples = []
    for token in all_tokens:
        started = time.perf_counter()
        renderer(token, size)  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main(renders: int, size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        keyring = load_keyring(Path(tmp))
        now = datetime.now(UTC)
        all_tokens = [tokens.issue(keyring, secrets.randbelow(3_000_000) + 1, now, 60)[0] for _ in range(renders)]
    for token in all_tokens[:50]:  # warm-up: imports, allocator
        render.png(token, size)
        render.svg(token, size)
    png = _times(render.png, all_tokens, size)
    svg = _times(render.svg, all_tokens, size)
    token = all_tokens[0]
    print(f"machine: {machine()}")
    print(
        f"zxing-cpp {version('zxing-cpp')}, pillow {version('pillow')}; token {len(token)} chars, "
        f"QR version {render.version_for(token)}, EC {render.EC_LEVEL}, mask {render.DATA_MASK}; "
        f"{renders} renders at {size} px"
    )
    for name, samples in (("PNG", png), ("SVG", svg)):
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{name}: median {statistics.median(samples):.3f} ms, p90 {p90:.3f} ms")
    median = statistics.median(png)
    print(
        f"PNG median / budget {BUDGET_MS} ms: {median / BUDGET_MS:.2f} ({'met' if median <= BUDGET_MS else 'MISSED'})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=2000)
    parser.add_argument("--size", type=int, default=300)
    args = parser.parse_args()
    main(args.renders, args.size)
