"""axe-core (from npm, node_modules/axe-core) injected into the test browser: no serious or critical violation.

The app never serves axe: the test context bypasses the page's CSP to inject it (``bypass_csp=True``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every serious or critical violation on the page as it is now: rule id, impact, help and the nodes' targets."""
    assert AXE.is_file(), f"{AXE} missing: run scripts/setup.sh (npm ci installs axe-core)"
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", TAGS
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
            "summary": v["nodes"][0].get("failureSummary", "")[:300] if v["nodes"] else "",
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def assert_accessible(page: Any, name: str) -> None:
    found = await axe_violations(page)
    assert not found, f"{name}: axe-core serious/critical violations: {found}"
