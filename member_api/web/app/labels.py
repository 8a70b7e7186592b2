"""Words for the codes the services answer with: facility kinds, statuses, reasons. Display only, no rule here."""

from __future__ import annotations

FACILITY_KINDS = {
    "township_center": "乡镇卫生院",
    "community_center": "社区卫生服务中心",
    "school_clinic": "校医院",
    "village_station": "村（社区）卫生站",
    "hospital": "医院",
    "out_of_city": "市外医疗机构",
}
TIERS = {"primary": "基层", "secondary": "二级", "tertiary": "三级"}
MOVEMENT_KINDS = {"counter": "门诊结算", "claim_payout": "报销支付", "reversal": "冲正（撤销结算）"}
LINE_ITEMS = {"general_fee": "一般诊疗费", "compliant": "合规费用", "non_compliant": "目录外费用"}
REASONS = {
    "not_eligible": "就诊当年未参保或未缴费，统筹基金不支付",
    "not_designated": "非本人约定的医疗机构，且不是急诊或经批准的转诊，统筹基金不支付",
    "referral_out_of_city": "转诊仅限本市定点医疗机构，市外转诊不支付",
    "non_compliant": "不在药品、耗材、服务目录内的费用由个人支付",
    "general_fee_not_covered": "该类机构的一般诊疗费不在统筹支付范围",
    "general_fee_above_standard": "一般诊疗费超出标准的部分由个人支付",
    "annual_cap_reached": "已达到年度统筹支付限额，超出部分由个人支付",
    "out_of_city_cap_reached": "已达到市外就医年度支付限额，超出部分由个人支付",
    "reversal": "原结算已撤销，退回相应额度",
}
SCOPE_WORDS = {"view": "查看", "credential": "出示凭证", "claims": "办理报销", "designation": "选定机构"}
RELATIONS = {"self": "本人", "dependant": "被监护人", "relative": "授权亲属"}
CLAIM_KINDS = {"newborn": "新生儿报销", "referral": "转诊报销"}
CLAIM_STATUSES = {
    "draft": "草稿（未提交）",
    "submitted": "已提交，待审核",
    "in_review": "审核中",
    "approved": "审核通过，已支付",
    "partly_approved": "部分通过，已支付通过部分",
    "rejected": "未通过",
}
ITEM_STATUSES = {"pending": "待审核", "approved": "通过", "rejected": "未通过"}
REQUEST_STATUSES = {"pending": "待审核", "approved": "已批准", "rejected": "未批准", "withdrawn": "已撤回"}
CHANGE_REASONS = {"relocation": "居住地迁移", "facility_closed": "原机构停止服务", "other": "其他原因"}
DESIGNATION_SOURCES = {
    "first_choice": "首次选定",
    "change": "年度内调整",
    "change_request": "变更申请获批",
    "carry_over": "上年延续",
}
# The English ``errors[].message`` of the services, in words for the field they mark.
FIELD_MESSAGES = {
    "in the future": "日期不能晚于今天",
    "no policy year covers this date": "该日期不在医保年度范围内",
    "no such facility": "机构不存在",
    "give facility_id or out_of_city_name, not both": "请选择就诊机构，或填写市外机构名称（二选一）",
    "needs at least one receipt": "请为这一项上传至少一张票据",
    "not between birth and enrollment (R5)": "就诊日期须在出生后、参保前",
    "not covered by the approved referral (R10)": "不在已批准转诊的机构或有效期内",
    "amount": "金额须为不小于 0 的数字，最多两位小数",
}


def field_message(message: str) -> str:
    return FIELD_MESSAGES.get(message, "请检查此项")


def status_tag(status: str) -> str:
    """The tag colour of a status."""
    if status in ("approved", "pending", "submitted", "in_review"):
        return "tag-ok" if status == "approved" else "tag-warn"
    if status in ("rejected",):
        return "tag-err"
    return ""
