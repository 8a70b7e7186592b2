"""Issue 27: one label table; every code the API can emit has words in Chinese and English."""

from __future__ import annotations

from typing import get_args

import pytest

from member_api.agency import export
from member_api.agency.schemas import FundKind, SignalKind
from member_api.claims.schemas import ClaimCreate, ClaimStatus
from member_api.core import labels
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
