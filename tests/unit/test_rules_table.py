"""docs/rules.md's rule table is generated from member_api/policy/rules.py and the tests named after each rule.

Every rule R1-R18 has exactly one deciding function that exists in the code and at least one test carrying its id;
the committed table matches what the code says. Regenerate with ``python -m tests.unit.test_rules_table``.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "rules.md"
BEGIN, END = "<!-- rules-table:begin -->", "<!-- rules-table:end -->"
ALL_RULES = [f"R{n}" for n in range(1, 19)]


def _rules() -> dict[str, tuple[str, str]]:
    tree = ast.parse((ROOT / "member_api" / "policy" / "rules.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "RULES":
            return ast.literal_eval(node.value)
    raise AssertionError("RULES not found")


def _defines(target: str) -> bool:
    path, _, name = target.partition("::")
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name for n in ast.walk(tree))


def _tests_by_rule() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for name in re.findall(r"^(?:async )?def (test_\w+)", path.read_text(encoding="utf-8"), re.MULTILINE):
            for rule in re.findall(r"(?:^|_)r(1[0-8]|[1-9])(?=_|$)", name.removeprefix("test_")):
                found.setdefault(f"R{rule}", []).append(f"{path.relative_to(ROOT)}::{name}")
    return found


def render_table() -> str:
    rules, tests = _rules(), _tests_by_rule()
    rows = ["| rule | what | deciding function | tests |", "|---|---|---|---|"]
    for rule in ALL_RULES:
        what, function = rules.get(rule, ("", ""))
        listed = "<br>".join(f"`{t}`" for t in tests.get(rule, []))
        rows.append(f"| {rule} | {what} | `{function}` | {listed} |")
    return "\n".join(rows)


def test_every_rule_has_one_existing_function_and_a_test():
    rules, tests = _rules(), _tests_by_rule()
    missing = [r for r in ALL_RULES if r not in rules or not _defines(rules[r][1]) or not tests.get(r)]
    assert missing == []


def test_docs_rules_table_is_generated_from_the_code():
    text = DOC.read_text(encoding="utf-8")
    committed = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert committed == render_table(), "regenerate with: python -m tests.unit.test_rules_table"


if __name__ == "__main__":
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(f"{head}{BEGIN}\n{render_table()}\n{END}{tail}", encoding="utf-8")
    sys.stdout.write("docs/rules.md table regenerated\n")
