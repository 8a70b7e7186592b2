"""The one label table: every code the API answers with, in Chinese and English (display only, no rule here).

The resident app, the staff console, FHIR display texts, CSV/XLSX headings and receipts all read their words from
here, so a code has one name everywhere (ARCHITECTURE: Vocabulary). ``tests/api/test_labels.py`` checks that every
code the API can emit (the Literal and enum types of the schemas and policy, the problem codes of the services and
of the OpenAPI document) has a label in both languages.
"""

from __future__ import annotations

from typing import NamedTuple


class Label(NamedTuple):
    zh: str
    en: str


def zh(table: dict[str, Label]) -> dict[str, str]:
    """The Chinese words of one code set (what the pages show)."""
    return {code: label.zh for code, label in table.items()}


def bilingual(label: Label) -> str:
    """Both words in one string, Chinese first (FHIR ``display``)."""
    return f"{label.zh} {label.en}"


FACILITY_KINDS = {
    "township_center": Label("乡镇卫生院", "township health center"),
    "community_center": Label("社区卫生服务中心", "community health service center"),
    "school_clinic": Label("校医院", "college clinic"),
    "village_station": Label("村（社区）卫生站", "village health station"),
    "hospital": Label("医院", "hospital"),
    "out_of_city": Label("市外医疗机构", "facility outside the city"),
}
TIERS = {
    "primary": Label("基层", "primary"),
    "secondary": Label("二级", "secondary"),
    "tertiary": Label("三级", "tertiary"),
}
MOVEMENT_KINDS = {
    "counter": Label("门诊结算", "counter settlement"),
    "claim_payout": Label("报销支付", "claim payout"),
    "reversal": Label("冲正", "reversal"),
}
LINE_ITEMS = {
    "general_fee": Label("一般诊疗费", "general diagnosis fee"),
    "compliant": Label("合规费用", "compliant expenses"),
    "non_compliant": Label("不合规费用", "non-compliant expenses"),
}
REASONS = {
    "not_eligible": Label(
        "就诊当年未参保或未缴费，统筹基金不支付",
        "Not enrolled or not paid up in the year of care: the fund pays nothing.",
    ),
    "not_designated": Label(
        "非本人约定的医疗机构，且不是急诊或经批准的转诊，统筹基金不支付",
        "Not the member's designated facility, nor an emergency or approved referral: the fund pays nothing.",
    ),
    "referral_out_of_city": Label(
        "转诊仅限本市定点医疗机构，市外转诊不支付", "Referrals are paid only to designated facilities in the city."
    ),
    "non_compliant": Label(
        "不在药品、耗材、服务目录内的费用由个人支付",
        "Expenses outside the drug, consumable and service catalogues are paid by the member.",
    ),
    "general_fee_not_covered": Label(
        "该类机构的一般诊疗费不在统筹支付范围", "This kind of facility's general diagnosis fee is not covered."
    ),
    "general_fee_above_standard": Label(
        "一般诊疗费超出标准的部分由个人支付", "The general diagnosis fee above the standard is paid by the member."
    ),
    "annual_cap_reached": Label(
        "已达到年度统筹支付限额，超出部分由个人支付", "The annual cap is reached; the rest is paid by the member."
    ),
    "out_of_city_cap_reached": Label(
        "已达到市外就医年度支付限额，超出部分由个人支付",
        "The annual cap for care outside the city is reached; the rest is paid by the member.",
    ),
    "reversal": Label("原结算已撤销，退回相应额度", "The original settlement was reversed; its amount is restored."),
}
SCOPES = {
    "view": Label("查看", "view"),
    "credential": Label("出示凭证", "show the e-credential"),
    "claims": Label("办理报销", "file claims"),
    "designation": Label("选定机构", "designate facilities"),
}
RELATIONS = {
    "self": Label("本人", "self"),
    "dependant": Label("被监护人", "dependant"),
    "relative": Label("授权亲属", "authorised relative"),
}
CLAIM_KINDS = {"newborn": Label("新生儿报销", "newborn claim"), "referral": Label("转诊报销", "referral claim")}
CLAIM_STATUSES = {
    "draft": Label("草稿", "draft"),
    "submitted": Label("已提交，待审核", "submitted"),
    "in_review": Label("审核中", "in review"),
    "approved": Label("已通过（已支付）", "approved (paid)"),
    "partly_approved": Label("部分通过", "partly approved"),
    "rejected": Label("未通过", "rejected"),
}
ITEM_STATUSES = {
    "pending": Label("待审核", "pending"),
    "approved": Label("通过", "approved"),
    "rejected": Label("未通过", "rejected"),
}
REQUEST_STATUSES = {
    "pending": Label("待审核", "pending"),
    "open": Label("待审核", "open"),
    "approved": Label("已批准", "approved"),
    "rejected": Label("未批准", "rejected"),
    "withdrawn": Label("已撤回", "withdrawn"),
}
CHANGE_REASONS = {
    "relocation": Label("居住地迁移", "relocation"),
    "facility_closed": Label("原机构停止服务", "facility closed"),
    "other": Label("其他原因", "other"),
}
DESIGNATION_SOURCES = {
    "first_choice": Label("首次选定", "first choice"),
    "change": Label("年度内调整", "change within the year"),
    "change_request": Label("变更申请获批", "approved change request"),
    "carry_over": Label("上年延续", "carried over from last year"),
}
DISPUTE_REASONS = {
    "not_me": Label("非本人就诊", "not my visit"),
    "wrong_amount": Label("金额不符", "wrong amount"),
    "not_received": Label("未接受诊疗", "care not received"),
    "other": Label("其他", "other"),
}
DISPUTE_STATUSES = {
    "open": Label("待处理", "open"),
    "in_review": Label("处理中", "in review"),
    "confirmed": Label("异议成立（已冲正）", "confirmed (reversed)"),
    "rejected": Label("异议不成立", "rejected"),
}
GRANT_STATUSES = {
    "pending": Label("待确认", "pending"),
    "active": Label("已生效", "active"),
    "revoked": Label("已撤销", "revoked"),
}
SIGNALS = {
    "same_day_repeat": Label("同日同机构多次结算", "several settlements at one facility on one day"),
    "split_visits": Label("疑似分解就诊", "suspected split visits"),
    "duplicate_receipt": Label("重复票据", "duplicate receipt"),
    "outlier_institution": Label("机构费用异常", "institution's costs out of line"),
    "many_facilities": Label("短期内多机构就诊", "many facilities in a short time"),
    "facility_disputes": Label("机构结算争议偏多", "many confirmed disputes at an institution"),
    "member_disputes": Label("参保人多次结算争议", "a member's repeated confirmed disputes"),
    "repeated_item": Label("同一项目重复收费", "the same item billed twice in a visit or a day"),
    "item_count_high": Label("项目数量远超常规", "an item's count far above its usual count"),
    "self_paid_as_compliant": Label("丙类项目按合规上传", "self-paid (03) items sent as compliant"),
}
FUND_MOVEMENT_KINDS = {
    "accrual": Label("计提", "accrual"),
    "allocation": Label("调节拨付", "allocation"),
    "year_end": Label("年终结清", "settled at year end"),
}

# R18: why (part of) a bill line is the member's own; the catalogue's kinds and payment categories (chrgitm_lv).
LINE_REASONS = {
    "not_in_catalogue": Label("不在医保目录内，由个人全额自付", "Not in the catalogue: fully self-paid."),
    "not_valid_on_date_of_care": Label(
        "就诊当日不在医保目录有效期内，由个人全额自付", "Not in the catalogue on the date of care: fully self-paid."
    ),
    "facility_code_unmapped": Label(
        "本机构项目编码未与医保目录对照，由个人全额自付",
        "The facility's own code is not mapped to the catalogue: fully self-paid.",
    ),
    "category_self_paid": Label("丙类项目，由个人全额自付", "Category 03 (丙类): fully self-paid."),
    "over_price_ceiling": Label(
        "单价超出医保支付限价的部分由个人支付", "The unit price above the price ceiling is self-paid."
    ),
    "billed_as_compliant": Label(
        "机构按甲/乙类上传，医保目录为丙类或无此项目：个人自付，已提示经办机构",
        "Sent by the facility as category 01/02, self-paid by the catalogue: flagged to the agency.",
    ),
    "up_front_self_pay": Label(
        "乙类项目按比例先行自付，其余纳入合规费用", "Category 02 (乙类): an up-front self-pay share first."
    ),
}
CATALOGUE_KINDS = {
    "drug": Label("药品", "drug"),
    "consumable": Label("医用耗材", "medical consumable"),
    "service": Label("诊疗项目", "medical service"),
}
CATEGORIES = {
    "01": Label("甲类", "category A (01)"),
    "02": Label("乙类", "category B (02)"),
    "03": Label("丙类", "category C (03, self-paid)"),
}
MANUAL_ENTRY = Label("手工录入", "manual entry")
"""A bill typed as three totals (the deprecated body) rather than itemised lines valued by the catalogue."""
NOTICE_KINDS = {
    "counter": Label("门诊结算", "counter settlement"),
    "reversal": Label("结算冲正", "reversal"),
    "claim_payout": Label("报销到账", "claim payout"),
    "cap_low": Label("年度额度提醒", "annual cap running low"),
    "refused_visit": Label("非约定机构就诊", "visit outside the designated pair"),
    "claim_decided": Label("报销审核结果", "claim decided"),
    "change_decided": Label("约定机构变更审核结果", "designation change request decided"),
    "designation_effective": Label("约定机构生效", "designation in effect"),
    "newborn_window": Label("新生儿报销受理期", "newborn claim window open"),
    "dispute_confirmed": Label("异议处理结果", "dispute confirmed"),
    "dispute_rejected": Label("异议处理结果", "dispute rejected"),
}
"""Notice kinds: the title of a notice in the app's list and in WeChat subscription messages (issue 30)."""
SMS_REJECTIONS = {
    "throttled": Label(
        "该手机号今日接收短信过多，请稍后再试", "This number has received too many messages; try later."
    ),
    "invalid_number": Label("短信无法发送到该号码，请检查手机号", "Messages cannot be sent to this number; check it."),
    "blocked": Label("该号码拒收短信，请联系运营商或使用其他号码", "This number refuses messages; use another one."),
}
"""Why an SMS provider refused a number (``sms_rejected``'s ``extra.reason``)."""
