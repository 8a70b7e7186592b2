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
# What each problem code means, in short (a refusal's own message_zh/message_en says the particulars). The status
# of each is in core/problems.py.
PROBLEMS = {
    "payment_event_conflict": Label("缴费记录与已收到的不一致", "payment event conflicts with one received"),
    "amount_invalid": Label("金额无效", "amount invalid"),
    "certificate_missing": Label("缺少证明材料", "certificate missing"),
    "certificate_expired": Label("参保证明已过有效期", "certificate expired"),
    "certificate_invalid": Label("参保证明无法验证", "certificate not genuine"),
    "date_range_invalid": Label("日期区间不正确", "date range invalid"),
    "family_requests_limited": Label("亲情授权申请过于频繁", "family requests limited"),
    "page_not_renderable": Label("页面无法显示", "page not renderable"),
    "pdf_page_too_large": Label("PDF 页面过大", "PDF page too large"),
    "pdf_too_complex": Label("PDF 内容过于复杂", "PDF too complex"),
    "pdf_too_many_pages": Label("PDF 页数过多", "PDF has too many pages"),
    "score_invalid": Label("考核分数无效", "score invalid"),
    "service_unavailable": Label("服务暂不可用", "service unavailable"),
    "storage_full": Label("存储空间不足", "storage full"),
    "wechat_not_configured": Label("未启用微信登录", "WeChat login not configured"),
    "account_already_bound": Label("手机号已绑定其他参保人", "phone already bound to another record"),
    "already_bound": Label("参保信息已被其他手机号绑定", "record bound to another phone"),
    "adjustment_fund_insufficient": Label("调节金余额不足", "adjustment fund insufficient"),
    "allocation_exceeds_overspend": Label("拨付超出超支额", "allocation exceeds the overspend"),
    "already_reversed": Label("该结算已冲正", "settlement already reversed"),
    "bad_request": Label("请求格式不正确", "malformed request"),
    "binding_code_invalid": Label("绑定码无效", "binding code invalid"),
    "binding_locked": Label("绑定尝试过多，暂时锁定", "binding locked after too many attempts"),
    "binding_needs_verification": Label("需到柜台核验身份后绑定", "binding needs a counter check"),
    "binding_required": Label("请先绑定参保信息", "binding required"),
    "body_too_deep": Label("请求内容嵌套层级过深", "request body nested too deeply"),
    "body_too_large": Label("请求内容过大", "request body too large"),
    "change_request_closed": Label("变更申请已处理", "change request closed"),
    "change_request_open": Label("已有待审核的变更申请", "change request already open"),
    "change_request_required": Label("变更需提交申请", "change request required"),
    "claim_incomplete": Label("报销申请不完整", "claim incomplete"),
    "claim_not_draft": Label("报销申请已提交", "claim no longer a draft"),
    "claim_not_reviewable": Label("报销申请不在待审核状态", "claim not awaiting review"),
    "claim_taken_by_another_reviewer": Label("报销申请正由他人审核", "claim taken by another reviewer"),
    "confirmation_required": Label("需勾选确认", "confirmation required"),
    "conflict": Label("请求冲突", "conflict"),
    "control_character": Label("含有不允许的控制字符", "control character"),
    "credential_expired": Label("电子凭证已过期", "e-credential expired"),
    "credential_invalid": Label("电子凭证无效", "e-credential invalid"),
    "credential_used": Label("电子凭证已使用", "e-credential already used"),
    "december_not_cleared": Label("12 月尚未清算", "December not cleared"),
    "decision_incomplete": Label("审核决定不完整", "decision incomplete"),
    "decision_missing": Label("未作出审核决定", "decision missing"),
    "dispute_exists": Label("已有待处理的异议", "dispute already open"),
    "dispute_not_in_hand": Label("异议不在您的处理中", "dispute not in hand"),
    "dispute_window_closed": Label("已过异议期限", "dispute window closed"),
    "facility_inactive": Label("机构已停止服务", "facility inactive"),
    "facility_not_found": Label("机构不存在", "facility not found"),
    "facility_out_of_city": Label("机构不在本市", "facility outside the city"),
    "facility_required": Label("须指定机构", "facility required"),
    "family_grant_ended": Label("亲情授权已结束", "family authorisation ended"),
    "family_grant_exists": Label("已有亲情授权", "family authorisation exists"),
    "family_grant_not_pending": Label("亲情授权不在待确认状态", "family authorisation not pending"),
    "family_limit_reached": Label("授权亲属已达上限", "family limit reached"),
    "family_member_is_minor": Label("未成年人由监护人代办", "member is a minor"),
    "family_scope_missing": Label("授权不含此项操作", "family scope missing"),
    "family_self": Label("不能为自己授权", "cannot authorise oneself"),
    "file_corrupt": Label("文件已损坏", "file corrupt"),
    "file_empty": Label("文件为空", "file empty"),
    "file_required": Label("须上传文件", "file required"),
    "file_too_large": Label("文件过大", "file too large"),
    "file_type_not_allowed": Label("文件类型不支持", "file type not allowed"),
    "forbidden": Label("无权进行此操作", "forbidden"),
    "form_invalid": Label("表单内容无效", "form invalid"),
    "http_error": Label("请求失败", "request failed"),
    "id_card_not_checked": Label("未核验身份证", "ID card not checked"),
    "idempotency_in_progress": Label("相同请求正在处理", "idempotent request in progress"),
    "idempotency_key_invalid": Label("Idempotency-Key 无效", "Idempotency-Key invalid"),
    "idempotency_key_missing": Label("缺少 Idempotency-Key", "Idempotency-Key missing"),
    "idempotency_key_reused": Label("Idempotency-Key 已用于其他请求", "Idempotency-Key reused"),
    "identity_required": Label("须出示凭证或身份证号", "credential or ID number required"),
    "image_too_large": Label("图片分辨率过高", "image too large"),
    "internal_error": Label("服务内部错误", "internal error"),
    "invalid_amount": Label("金额无效", "invalid amount"),
    "invalid_cursor": Label("分页参数无效", "invalid cursor"),
    "invalid_id_number": Label("身份证号无效", "invalid ID number"),
    "invalid_items": Label("费用明细有误", "invalid bill lines"),
    "invalid_phone": Label("手机号无效", "invalid phone number"),
    "invalid_referral_target": Label("转诊机构无效", "invalid referral target"),
    "items_and_totals": Label("费用明细与合计不能同时提交", "items and totals together"),
    "login_failed": Label("用户名或密码错误", "login failed"),
    "login_throttled": Label("登录尝试过多", "login throttled"),
    "malformed_body": Label("请求内容编码无效", "malformed body"),
    "malformed_form": Label("表单无法解析", "malformed form"),
    "malformed_json": Label("请求内容不是有效的 JSON", "malformed JSON"),
    "malformed_query": Label("查询参数无效", "malformed query"),
    "member_not_found": Label("未找到参保人", "member not found"),
    "method_not_allowed": Label("不支持该请求方法", "method not allowed"),
    "metrics_disabled": Label("监控指标未启用", "metrics disabled"),
    "metrics_unauthorized": Label("需要监控令牌", "metrics token required"),
    "month_not_cleared": Label("该月尚未清算", "month not cleared"),
    "month_not_closed": Label("该月尚未月结", "month not closed"),
    "month_not_ended": Label("该月尚未结束", "month not ended"),
    "month_out_of_order": Label("月结须按月份顺序", "months close in order"),
    "national_credential_unavailable": Label(
        "国家医保电子凭证服务暂不可用", "national e-credential service unavailable"
    ),
    "newborn_claim_needs_dependant": Label("新生儿报销须由监护人申请", "newborn claim needs the dependant"),
    "newborn_not_eligible": Label("新生儿未按时参保", "newborn not eligible"),
    "newborn_not_paid_up": Label("新生儿该年度未参保缴费", "newborn not paid up"),
    "no_designation": Label("尚未选定约定机构", "no designation"),
    "no_policy_year": Label("没有该年度的政策参数", "no policy year"),
    "not_acceptable": Label("无法提供该格式", "not acceptable"),
    "not_designated_facility": Label("非约定医疗机构", "not the designated facility"),
    "not_eligible": Label("未参保或未缴费", "not eligible"),
    "not_enrolled": Label("该年度未参保", "not enrolled"),
    "not_found": Label("资源不存在", "not found"),
    "not_member_facility": Label("参保人不属于本机构", "member not of this facility"),
    "not_primary_institution": Label("不是基层医疗机构", "not a primary institution"),
    "not_primary_institution_clerk": Label("不是基层医疗机构的工作人员", "not a primary institution's clerk"),
    "not_village_station": Label("不是村（社区）卫生站", "not a village station"),
    "note_required": Label("须填写说明", "note required"),
    "otp_invalid": Label("验证码错误或已失效", "code invalid"),
    "outside_claim_window": Label("不在报销办理时间内", "outside the claim window"),
    "pdf_active_content": Label("PDF 含有活动内容", "PDF with active content"),
    "pdf_encrypted": Label("PDF 设有密码", "PDF encrypted"),
    "period_invalid": Label("月份无效", "period invalid"),
    "quote_expired": Label("预结算已过期", "quote expired"),
    "quote_invalid": Label("预结算无效", "quote invalid"),
    "quote_mismatch": Label("结算与预结算不一致", "quote mismatch"),
    "rate_limited": Label("操作过于频繁", "rate limited"),
    "reason_required": Label("须填写原因", "reason required"),
    "referral_form_invalid": Label("转诊表单无效", "referral form invalid"),
    "referral_not_found": Label("没有适用的转诊", "referral not found"),
    "refresh_invalid": Label("登录已失效", "refresh token invalid"),
    "refresh_reused": Label("登录凭据已被使用", "refresh token reused"),
    "reversal_outside_policy_year": Label("已过冲正期限", "reversal outside the policy year's window"),
    "same_designation": Label("与当前约定机构相同", "same designation"),
    "sample_not_drawn": Label("尚未抽样", "sample not drawn"),
    "session_ended": Label("登录已结束", "session ended"),
    "signal_already_reviewed": Label("信号已复核", "signal already reviewed"),
    "signal_not_found": Label("信号不存在", "signal not found"),
    "sms_rejected": Label("短信被拒绝", "SMS rejected"),
    "sms_unavailable": Label("短信服务暂不可用", "SMS unavailable"),
    "staff_not_found": Label("工作人员账号不存在", "staff not found"),
    "station_not_allowed": Label("该机构不设卫生站", "station not allowed"),
    "station_of_other_institution": Label("卫生站属于其他机构", "station of another institution"),
    "station_required": Label("须同时选择卫生站", "station required"),
    "submission_file_invalid": Label("上报文件无效", "submission file invalid"),
    "submission_invalid": Label("上报数据无效", "submission invalid"),
    "submission_not_found": Label("上报记录不存在", "submission not found"),
    "token_expired": Label("登录已过期", "token expired"),
    "token_invalid": Label("登录凭据无效", "token invalid"),
    "token_malformed": Label("登录凭据格式错误", "token malformed"),
    "token_not_yet_valid": Label("登录凭据尚未生效", "token not yet valid"),
    "too_many_files": Label("文件数量过多", "too many files"),
    "unauthorized": Label("请先登录", "unauthorized"),
    "unavailable": Label("服务暂不可用", "unavailable"),
    "unsupported_media_type": Label("不支持的内容类型", "unsupported media type"),
    "validation_error": Label("提交的数据有误", "validation error"),
    "visit_outside_policy_year": Label("已过结算期限", "visit outside the policy year's window"),
    "wechat_already_linked": Label("已绑定其他微信", "WeChat already linked"),
    "wechat_code_invalid": Label("微信登录凭证无效", "WeChat code invalid"),
    "wechat_not_linked": Label("微信尚未关联手机号", "WeChat not linked"),
    "wechat_unavailable": Label("微信服务暂不可用", "WeChat unavailable"),
    "year_already_settled": Label("该年度已年终清算", "year already closed"),
    "year_not_settled": Label("该年度尚未年终清算", "year not closed"),
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
