"""``member-api arch-diagram``: the areas and their imports as a Mermaid flowchart, read from the source itself.

Parses every module of the package with ``ast`` (nothing is imported or run), folds modules into their area (the
first package below ``member_api``; of the top-level modules, the entry points count as ``app``, the composition
root, and ``db``/``settings`` as themselves) and prints one edge
per pair of areas that import each other, with how many import statements make it. ``--faces`` lists instead the
imports that break the face rule (another area's module other than ``service``/``schemas``), so a reviewer sees
where the rule still has exceptions.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
FACE = {"service", "schemas"}
# Floors of docs/architecture.md, top to bottom (the import-linter layers contract in pyproject.toml).
FLOORS = (
    ("entry", ("app", "jobs")),
    ("edges", ("web", "fhir", "fsi", "ops")),
    ("read models and books", ("benefits", "agency")),
    ("use cases that move money", ("settlement", "claims", "disputes")),
    ("money", ("ledger",)),
    ("rules around people", ("referrals", "notices", "auth", "credential", "family")),
    ("registry and catalogues", ("facilities", "members", "catalogue", "audit")),
    ("kernel", ("core", "db", "settings")),
    ("pure rules", ("policy",)),
)


# Top-level modules: the composition root and its entry points, and the kernel's database and settings.
TOP_LEVEL = {"app": "app", "asgi": "app", "cli": "app", "openapi_export": "app", "settings": "settings"}


def _area(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "member_api":
        return ""
    return parts[1] if (PACKAGE / parts[1]).is_dir() else TOP_LEVEL.get(parts[1], "db")


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imports() -> Iterator[tuple[str, str]]:
    """(importing module, imported module) for every import of a project module, at any depth of the file."""
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                base = node.module
                names = [f"{base}.{alias.name}" for alias in node.names]
                # ``from member_api.x import service`` names a module; ``from member_api.x.service import f`` a name.
                targets = [n for n in names if (PACKAGE.parent / Path(*n.split("."))).with_suffix(".py").exists()]
                targets = targets or [base]
            else:
                continue
            for target in targets:
                if target.startswith("member_api."):
                    yield source, target


def area_edges() -> Counter[tuple[str, str]]:
    edges: Counter[tuple[str, str]] = Counter()
    for source, target in imports():
        a, b = _area(source), _area(target)
        if a and b and a != b:
            edges[(a, b)] += 1
    return edges


def face_exceptions() -> list[str]:
    """Imports of another area's module that is not its face (``service``/``schemas``), as ``from -> to`` lines."""
    found = []
    for source, target in imports():
        a, b = _area(source), _area(target)
        parts = target.split(".")
        if a == b or b in ("app", "core", "policy", "web", "jobs", "db", "settings") or len(parts) < 3 or a == "app":
            continue
        if parts[2] not in FACE:
            found.append(f"{source} -> {target}")
    return sorted(set(found))


GROUND = {"core", "db", "settings", "policy"}  # every area stands on these: their edges only add noise


def mermaid(everything: bool = False) -> str:
    """The area graph; without ``everything``, edges into the kernel and the pure rules, and the composition
    root's edges (it imports every area's routes), are left out."""
    edges = {pair: n for pair, n in area_edges().items() if everything or (pair[1] not in GROUND and pair[0] != "app")}
    lines = ["flowchart TD"]
    for floor, areas in FLOORS:
        present = [a for a in areas if (PACKAGE / a).is_dir() or a in TOP_LEVEL.values() or a == "db"]
        if present:
            lines.append(f'  subgraph {floor.replace(" ", "_")}["{floor}"]')
            lines.extend(f"    {a}" for a in present)
            lines.append("  end")
    for (a, b), n in sorted(edges.items()):
        lines.append(f"  {a} -->|{n}| {b}")
    return "\n".join(lines)
