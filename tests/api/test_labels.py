"""Issue 27: one label table; every code the API can emit has words in Chinese and English."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import get_args

import pytest

from member_api.agency import export
from member_api.agency.schemas import FundKind, SignalKind
from member_api.claims.schemas import ClaimCreate, ClaimStatus
from member_api.core import labels
from member_api.core.problems import STATUS
from member_api.core.sms import ALIYUN_REJECTIONS, TENCENT_REJECTIONS
from member_api.disputes.schemas import DisputeReason, DisputeStatus
from member_api.facilities.schemas import ChangeReason
from member_api.family.schemas import Scope
from member_api.fhir import mapping
from member_api.ledger.service import KINDS
from member_api.notices.service import ALERT_KINDS
from member_api.policy import parameters
from member_api.policy.designation import PRIMARY_KINDS
from member_api.policy.fee_lines import Category, Kind, LineReason
from member_api.policy.reimbursement import Reason
from member_api.web.common import labels as page_words

YEARS = parameters.all_years()
EDGE_ONLY = {"http_error"}  # litestar's own exceptions of a status the table does not list keep that status
MOVEMENT_KINDS_NOTIFIED = KINDS
SMS_REJECTION_REASONS = {*TENCENT_REJECTIONS.values(), *ALIYUN_REJECTIONS.values()}
CODE_SETS = [
    ("movement kinds", set(KINDS), labels.MOVEMENT_KINDS),
    ("line items", {"general_fee", "compliant", "non_compliant"}, labels.LINE_ITEMS),
    ("reasons", {r.value for r in Reason} | {"reversal"}, labels.REASONS),
    ("claim statuses", set(get_args(ClaimStatus)), labels.CLAIM_STATUSES),
    ("claim kinds", set(get_args(ClaimCreate.__annotations__["kind"])), labels.CLAIM_KINDS),
    ("claim item statuses", {"pending", "approved", "rejected"}, labels.ITEM_STATUSES),
    ("change reasons", set(get_args(ChangeReason)), labels.CHANGE_REASONS),
    ("dispute reasons", set(get_args(DisputeReason)), labels.DISPUTE_REASONS),
    ("dispute statuses", set(get_args(DisputeStatus)), labels.DISPUTE_STATUSES),
    ("family scopes", set(get_args(Scope)), labels.SCOPES),
    ("signals", set(get_args(SignalKind)), labels.SIGNALS),
    ("adjustment fund movements", set(get_args(FundKind)), labels.FUND_MOVEMENT_KINDS),
    ("facility kinds", set(PRIMARY_KINDS).union(*(y.general_fee_standard_fen for y in YEARS)), labels.FACILITY_KINDS),
    ("tiers", set().union(*(y.compliant_ratio_bp for y in YEARS)), labels.TIERS),
    ("bill line reasons (R18)", {r.value for r in LineReason}, labels.LINE_REASONS),
    ("catalogue kinds", {k.value for k in Kind}, labels.CATALOGUE_KINDS),
    ("payment categories", {c.value for c in Category}, labels.CATEGORIES),
    (
        "notice kinds",
        set(MOVEMENT_KINDS_NOTIFIED) | set(ALERT_KINDS) | {"dispute_confirmed", "dispute_rejected"},
        labels.NOTICE_KINDS,
    ),
    ("sms rejections", set(SMS_REJECTION_REASONS), labels.SMS_REJECTIONS),
]


@pytest.mark.parametrize(("name", "codes", "table"), CODE_SETS, ids=[c[0] for c in CODE_SETS])
def test_every_code_has_words_in_both_languages(name: str, codes: set[str], table: dict[str, labels.Label]) -> None:
    assert codes, name
    missing = sorted(codes - set(table))
    assert missing == [], f"{name}: no label for {missing}"
    empty = sorted(code for code in codes if not (table[code].zh.strip() and table[code].en.strip()))
    assert empty == [], f"{name}: a language missing for {empty}"


def test_the_pages_fhir_and_exports_say_the_same_words() -> None:
    """The three vocabularies of before (app, console, FHIR) are one: a reversal is 冲正 everywhere."""
    assert page_words.MOVEMENT_KINDS["reversal"] == "冲正"
    assert mapping.MOVEMENT_KINDS["counter"] == "门诊结算 counter settlement"
    assert "不合规费用(元)" in [c.heading for c in export.REPORT_BY_TIER]


# ---- problem codes: one status (core/problems.py) and words in both languages (core/labels.py) each ------------

PACKAGE = Path(__file__).resolve().parents[2] / "member_api"


def _raised_codes() -> set[str]:
    """Codes written as constants where a refusal is made: ``DomainError("code", ...)``, ``invalid_field(...,
    code="code")`` and any helper returning a DomainError called with a constant code."""
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in PACKAGE.rglob("*.py")]
    makers = {"DomainError", "ApiError"} | {
        node.name
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.returns is not None
        and ast.unparse(node.returns) == "DomainError"
        and node.args.args
        and node.args.args[0].arg == "code"
    }
    codes = set()
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in makers and node.args and isinstance(node.args[0], ast.Constant):
                codes.add(node.args[0].value)
            for keyword in node.keywords:
                if keyword.arg == "code" and isinstance(keyword.value, ast.Constant) and name == "invalid_field":
                    codes.add(keyword.value.value)
    return {c for c in codes if isinstance(c, str)}


def test_every_problem_code_raised_has_one_status_and_words_in_both_languages() -> None:
    raised = _raised_codes()
    assert len(raised) > 80
    assert sorted(raised - set(STATUS) - EDGE_ONLY) == []
    assert sorted(set(STATUS) - set(labels.PROBLEMS)) == []
    assert sorted(set(labels.PROBLEMS) - set(STATUS) - EDGE_ONLY) == []
    assert [c for c, label in labels.PROBLEMS.items() if not (label.zh.strip() and label.en.strip())] == []


def test_the_openapi_document_lists_each_code_under_the_status_of_the_table() -> None:
    document = json.loads((PACKAGE.parent / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    listed = {
        (code, int(status))
        for operations in document["paths"].values()
        for operation in operations.values()
        for status, response in operation.get("responses", {}).items()
        for code in response.get("content", {}).get("application/problem+json", {}).get("examples", {})
    }
    assert listed
    assert sorted((code, status) for code, status in listed if STATUS.get(code) != status) == []
