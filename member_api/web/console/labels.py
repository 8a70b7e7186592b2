"""Words for the codes the services answer with (display only: no rule here)."""

from __future__ import annotations

from typing import Any

FACILITY_KINDS = {
    "township_center": "乡镇卫生院",
    "community_center": "社区卫生服务中心",
    "school_clinic": "校医院",
    "village_station": "村（社区）卫生站",
    "hospital": "医院",
    "out_of_city": "市外医疗机构",
}
TIERS = {"primary": "基层", "secondary": "二级", "tertiary": "三级"}
MOVEMENT_KINDS = {"counter": "门诊结算", "claim_payout": "报销支付", "reversal": "冲正"}
LINE_ITEMS = {"general_fee": "一般诊疗费", "compliant": "合规费用", "non_compliant": "目录外费用"}
REASONS = {
    "not_eligible": "就诊当年未参保或未缴费，统筹基金不支付",
    "not_designated": "非本人约定机构，且不是急诊或经批准的转诊，统筹基金不支付",
    "referral_out_of_city": "转诊仅限本市定点医疗机构",
    "non_compliant": "目录外费用由个人支付",
    "general_fee_not_covered": "该类机构的一般诊疗费不在统筹支付范围",
    "general_fee_above_standard": "一般诊疗费超出标准的部分由个人支付",
    "annual_cap_reached": "已达年度统筹支付限额，超出部分由个人支付",
    "out_of_city_cap_reached": "已达市外就医年度支付限额，超出部分由个人支付",
    "reversal": "原结算已撤销，退回相应额度",
}
CLAIM_KINDS = {"newborn": "新生儿报销", "referral": "转诊报销"}
CLAIM_STATUSES = {
    "draft": "草稿",
    "submitted": "待审核",
    "in_review": "审核中",
    "approved": "已通过（已支付）",
    "partly_approved": "部分通过",
    "rejected": "未通过",
}
ITEM_STATUSES = {"pending": "待审核", "approved": "通过", "rejected": "驳回"}
REQUEST_STATUSES = {
    "pending": "待审核",
    "open": "待审核",
    "approved": "已批准",
    "rejected": "未批准",
    "withdrawn": "已撤回",
}
CHANGE_REASONS = {"relocation": "居住地迁移", "facility_closed": "原机构停止服务", "other": "其他原因"}
DISPUTE_REASONS = {"not_me": "非本人就诊", "wrong_amount": "金额不符", "not_received": "未接受诊疗", "other": "其他"}
DISPUTE_STATUSES = {
    "open": "待处理",
    "in_review": "处理中",
    "confirmed": "异议成立（已冲正）",
    "rejected": "异议不成立",
}
FIELD_MESSAGES = {
    "in the future": "日期不能晚于今天",
    "visit_date is in the future.": "就诊日期不能晚于今天",
    "amount": "金额须为不小于 0 的数字，最多两位小数",
    "required": "必填",
}


def field_message(message: str) -> str:
    return FIELD_MESSAGES.get(message, message if any("\u4e00" <= c <= "\u9fff" for c in message) else "请检查此项")


def status_tag(status: str) -> str:
    if status in ("approved", "confirmed"):
        return "tag-ok"
    if status in ("rejected",):
        return "tag-err"
    if status in ("submitted", "in_review", "open", "pending"):
        return "tag-warn"
    return ""


def globals_for_templates() -> dict[str, Any]:
    return {
        "FACILITY_KINDS": FACILITY_KINDS,
        "TIERS": TIERS,
        "MOVEMENT_KINDS": MOVEMENT_KINDS,
        "LINE_ITEMS": LINE_ITEMS,
        "REASONS": REASONS,
        "CLAIM_KINDS": CLAIM_KINDS,
        "CLAIM_STATUSES": CLAIM_STATUSES,
        "ITEM_STATUSES": ITEM_STATUSES,
        "REQUEST_STATUSES": REQUEST_STATUSES,
        "CHANGE_REASONS": CHANGE_REASONS,
        "DISPUTE_REASONS": DISPUTE_REASONS,
        "DISPUTE_STATUSES": DISPUTE_STATUSES,
        "status_tag": status_tag,
    }


def words(err: Any) -> dict[str, Any]:
    """A service's refusal for a template: its Chinese message and each marked field in words."""
    from member_api.web.common.forms import problem

    return problem(err, field_message)
