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


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path) -> set[str]:
    """Project modules a module imports when it is loaded (imports inside functions and TYPE_CHECKING excluded)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                as_module = ROOT / Path(*candidate.split("."))
                found.add(candidate if as_module.with_suffix(".py").exists() or as_module.is_dir() else node.module)
    return {m for m in found if m == "member_api" or m.startswith("member_api.")}


def test_no_module_circles():
    """Issue 27: the import graph of the package, as loaded, has no cycle (app <-> openapi_export once had one)."""
    graph = {_module_name(p): _top_level_imports(p) for p in _modules()}
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def _said(lines: list[str], index: int) -> bool:
    """A comment on this import line, or above the block of import lines it belongs to."""
    if "#" in lines[index]:
        return True
    for line in reversed(lines[:index]):
        text = line.strip()
        if text.startswith("#"):
            return True
        if text and not (text.startswith(("from ", "import ", ")")) or text.endswith(",")):
            return False
    return False


def test_no_import_hidden_in_a_function_unless_a_comment_says_why():
    """Issue 27: wiring is visible at the top of a module. An import inside a function is allowed where a comment on
    it (or on the line above) says why, e.g. an optional SDK loaded only when configured; CLI sub-commands load
    lazily by design."""
    hidden = []
    for path in _modules():
        if path.name == "cli.py":
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for fn in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and not _said(lines, node.lineno - 1):
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert hidden == []


TABLES_IMPORT = re.compile(
    r"^from (member_api\.\w+\.tables|piccolo\.table) import|^from member_api\.\w+ import tables\b", re.M
)
# Data access still to move into the area's queries.py (issue 27); `member-api arch-diagram --faces` lists the
# imports across areas. This list only shrinks.
STILL_OUTSIDE_QUERIES = {
    "member_api/auth/service.py",
    "member_api/auth/staff.py",
    "member_api/claims/service.py",
    "member_api/core/idempotency.py",
    "member_api/facilities/designation.py",
    "member_api/jobs/demo.py",
    "member_api/jobs/demo_walk.py",
    "member_api/jobs/housekeeping.py",
    "member_api/members/service.py",
}


def test_only_queries_and_tables_modules_use_piccolo_tables():
    """Issue 27: all data access of an area, SQL or builder, lives in its queries.py."""
    using = {
        str(path.relative_to(ROOT))
        for path in _modules()
        if path.name not in ("queries.py", "tables.py") and TABLES_IMPORT.search(path.read_text(encoding="utf-8"))
    }
    assert sorted(using - STILL_OUTSIDE_QUERIES) == []
    assert sorted(STILL_OUTSIDE_QUERIES - using) == [], "moved: take it off the list"
