"""The pages' words: the Chinese side of the one label table (``core/labels.py``), and a field's message in words.

Both audiences (the resident app and the staff console) render the same words for the same code.
"""

from __future__ import annotations

from typing import Any

from member_api.core import labels
from member_api.core.errors import DomainError
from member_api.web.common.forms import problem

FACILITY_KINDS = labels.zh(labels.FACILITY_KINDS)
TIERS = labels.zh(labels.TIERS)
MOVEMENT_KINDS = labels.zh(labels.MOVEMENT_KINDS)
LINE_ITEMS = labels.zh(labels.LINE_ITEMS)
REASONS = labels.zh(labels.REASONS)
SCOPE_WORDS = labels.zh(labels.SCOPES)
RELATIONS = labels.zh(labels.RELATIONS)
CLAIM_KINDS = labels.zh(labels.CLAIM_KINDS)
CLAIM_STATUSES = labels.zh(labels.CLAIM_STATUSES)
ITEM_STATUSES = labels.zh(labels.ITEM_STATUSES)
REQUEST_STATUSES = labels.zh(labels.REQUEST_STATUSES)
CHANGE_REASONS = labels.zh(labels.CHANGE_REASONS)
DESIGNATION_SOURCES = labels.zh(labels.DESIGNATION_SOURCES)
DISPUTE_REASONS = labels.zh(labels.DISPUTE_REASONS)
DISPUTE_STATUSES = labels.zh(labels.DISPUTE_STATUSES)
SIGNALS = labels.zh(labels.SIGNALS)
CATEGORIES = labels.zh(labels.CATEGORIES)
CATALOGUE_KINDS = labels.zh(labels.CATALOGUE_KINDS)

# The English ``errors[].message`` of the services (and of the pages' own checks), in words for the field they mark.
FIELD_MESSAGES = {
    "in the future": "日期不能晚于今天",
    "visit_date is in the future.": "就诊日期不能晚于今天",
    "no policy year covers this date": "该日期不在医保年度范围内",
    "no such facility": "机构不存在",
    "give facility_id or out_of_city_name, not both": "请选择就诊机构，或填写市外机构名称（二选一）",
    "needs at least one receipt": "请为这一项上传至少一张票据",
    "not between birth and enrollment (R5)": "就诊日期须在出生后、参保前",
    "not covered by the approved referral (R10)": "不在已批准转诊的机构或有效期内",
    "amount": "金额须为不小于 0 的数字，最多两位小数",
    "required": "必填",
}


def field_message(message: str) -> str:
    """A field's message in words; a message already in Chinese is shown as it is."""
    return FIELD_MESSAGES.get(message, message if any("\u4e00" <= c <= "\u9fff" for c in message) else "请检查此项")


def status_tag(status: str) -> str:
    """The tag colour of a status."""
    if status in ("approved", "confirmed"):
        return "tag-ok"
    if status in ("rejected",):
        return "tag-err"
    if status in ("submitted", "in_review", "open", "pending"):
        return "tag-warn"
    return ""


def words(err: DomainError) -> dict[str, Any]:
    """A service's refusal for a template: its Chinese message and each marked field in words."""
    return problem(err, field_message)
