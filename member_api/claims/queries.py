"""Hand-written SQL of the claims area, as named functions."""

from __future__ import annotations

from typing import Any

from member_api.catalogue.schemas import ITEM_COLUMNS
from member_api.db import fetch

# ---- bill lines of claimed visits (R18) ---------------------------------------------------------------------------


async def insert_lines(rows: list[tuple[object, ...]]) -> None:
    """Claimed visits' lines, ``(item, *ITEM_COLUMNS)`` each, in one multi-row statement."""
    if not rows:
        return
    row_marks = "(" + ", ".join("{}" for _ in range(len(ITEM_COLUMNS) + 1)) + ")"
    await fetch(
        f"INSERT INTO claim_line (item, {', '.join(ITEM_COLUMNS)}) VALUES "  # noqa: S608 - constants only
        + ", ".join(row_marks for _ in rows),
        *(value for row in rows for value in row),
    )


async def lines_of(item_ids: list[int]) -> list[dict[str, Any]]:
    """The lines of the given claimed visits, in line order."""
    wanted = sorted(set(item_ids))
    if not wanted:
        return []
    marks = ", ".join("{}" for _ in wanted)
    return await fetch(
        f"SELECT item, {', '.join(ITEM_COLUMNS)} FROM claim_line"  # noqa: S608 - constants and marks only
        f" WHERE item IN ({marks}) ORDER BY item, line_no",
        *wanted,
    )


async def receipt_digests() -> set[str]:
    """The blob digests every receipt row names (what blob GC keeps)."""
    return {r["sha256"] for r in await fetch("SELECT sha256 FROM receipt")}
