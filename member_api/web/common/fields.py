"""Form fields in words, so a refusal names what to fix ("有效期自：不能早于今天"), never a bare "请检查此项"."""

from __future__ import annotations

import re

FIELD_NAMES = {
    "phone": "手机号",
    "code": "验证码",
    "id_number": "身份证号",
    "name": "姓名",
    "binding_code": "绑定码",
    "scan": "电子凭证或身份证号",
    "credential": "电子凭证",
    "target_facility_id": "转往医院",
    "valid_from": "有效期自",
    "valid_to": "有效期至",
    "visit_date": "就诊日期",
    "general_fee": "一般诊疗费",
    "compliant": "合规费用",
    "non_compliant": "目录外费用",
    "referral_id": "转诊单号",
    "institution_id": "约定机构",
    "station_id": "卫生站",
    "reason": "原因",
    "reason_text": "说明",
    "evidence": "证明材料",
    "files": "票据文件",
    "photo": "照片",
    "text": "说明",
    "item_id": "报销明细",
    "checked": "身份核验",
    "care_date": "就诊日期",
    "facility_id": "就诊机构",
    "out_of_city_name": "市外机构名称",
    "general_fee_fen": "一般诊疗费",
    "compliant_fen": "目录内费用",
    "non_compliant_fen": "目录外费用",
    "member_id": "参保人",
    "scopes": "授权范围",
    "settlement_id": "结算记录",
}
_INDEXED = re.compile(r"^(\w+)\[(\d+)\](?:\.(\w+))?$")


def field_label(field: str) -> str:
    """``valid_from`` -> 有效期自; ``items[1].care_date`` -> 第 2 项 就诊日期; ``evidence[0]`` -> 证明材料 第 1 个."""
    match = _INDEXED.match(field)
    if match:
        name, index, sub = match.groups()
        if name == "items":
            return f"第 {int(index) + 1} 项" + (f" {FIELD_NAMES.get(sub, sub)}" if sub else "")
        return f"{FIELD_NAMES.get(name, name)} 第 {int(index) + 1} 个"
    return FIELD_NAMES.get(field.removesuffix("_fen"), FIELD_NAMES.get(field, field))
