"""The shape the architecture promises (docs/architecture.md), checked on the source: no private names across
areas, one writer of money, a small top level, and unit tests that need no web, database or ORM stack."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "member_api"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _area(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else ""


def test_no_module_imports_a_private_name_of_another_area():
    offences = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("member_api."):
                target_area = node.module.split(".")[1]
                for alias in node.names:
                    if alias.name.startswith("_") and target_area != _area(path):
                        offences.append(f"{path.relative_to(ROOT)}: {node.module}.{alias.name}")
    assert offences == []


WRITES_MONEY = re.compile(
    r"INSERT\s+INTO\s+(movement|benefit_account)\b|UPDATE\s+(movement|benefit_account)\b"
    r"|DELETE\s+FROM\s+(movement|benefit_account)\b|\b(Movement|BenefitAccount)\.(insert|update|delete)\(",
    re.IGNORECASE,
)


def test_only_the_ledger_writes_fund_movements_and_used_amounts():
    writers = {
        str(path.relative_to(ROOT)) for path in _modules() if WRITES_MONEY.search(path.read_text(encoding="utf-8"))
    }
    assert writers == {"member_api/ledger/queries.py"}


def test_the_top_level_keeps_at_most_eight_modules():
    top = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(top) <= 8, top


def test_unit_tests_import_no_web_database_or_orm_stack():
    modules = [f"tests.unit.{p.stem}" for p in sorted((ROOT / "tests" / "unit").glob("test_*.py"))]
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in ('litestar', 'asyncpg', 'piccolo', 'aiosqlite') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_services_raise_domain_errors_and_one_table_gives_the_status():
    """Issue 27: a refusal names its code; ``core/problems.py`` maps it to HTTP. Only the HTTP edge
    (core/errors.py, translating litestar's own exceptions) states a status itself."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in _modules()
        if path.name != "errors.py" and re.search(r"\bApiError\(", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
