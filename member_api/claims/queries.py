"""Data access of the claims area, as named functions (the service holds the use cases)."""

from __future__ import annotations

from member_api.db import fetch


async def receipt_digests() -> set[str]:
    """The blob digests every receipt row names (what blob GC keeps)."""
    return {r["sha256"] for r in await fetch("SELECT sha256 FROM receipt")}
