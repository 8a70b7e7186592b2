"""Downloads of statements and reports: CSV (UTF-8 with BOM, so spreadsheet programs detect it) and XLSX
(openpyxl). Money is shown in yuan with two decimals, ratios in percent with two decimals, headings in Chinese.

A table is a list of columns (heading, how to read the value, its kind) applied to rows: the JSON endpoint,
the CSV and the XLSX of one resource share one column list, so they never disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from member_api.core import labels
from member_api.core.clock import LOCAL_TZ

Kind = Literal["text", "int", "fen", "bp", "tenths", "bool", "date", "datetime"]
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Column:
    heading: str
    value: Callable[[Any], Any]
    kind: Kind = "int"


def yuan(fen: int) -> Decimal:
    """Integer fen as yuan with exactly two decimals (no float on the way)."""
    return (Decimal(fen) / 100).quantize(_CENT)


def percent(bp: int) -> Decimal:
    return (Decimal(bp) / 100).quantize(_CENT)


def _cell(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind == "fen":
        return yuan(int(value))
    if kind == "bp":
        return percent(int(value))
    if kind == "tenths":
        return (Decimal(int(value)) / 10).quantize(Decimal("0.1"))
    if kind == "datetime":
        return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    if kind == "bool":
        return "是" if value else "否"
    if kind == "date":
        return value.isoformat()
    return value


def _text(kind: Kind, value: Any) -> str:
    cell = _cell(kind, value)
    if cell is None:
        return ""
    return str(cell)


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: Sequence[Column]
    rows: Sequence[Any]


def to_csv(sheet: Sheet) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.heading for c in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_text(c.kind, c.value(row)) for c in sheet.columns])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(*sheets: Sheet) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        ws = workbook.create_sheet(title=sheet.title[:31])
        ws.append([c.heading for c in sheet.columns])
        for row in sheet.rows:
            ws.append([_cell(c.kind, c.value(row)) for c in sheet.columns])
        for n, column in enumerate(sheet.columns, start=1):
            letter = get_column_letter(n)
            ws.column_dimensions[letter].width = max(10, len(column.heading) * 2 + 2)
            if column.kind in ("fen", "bp", "tenths"):
                for (cell,) in ws.iter_rows(min_row=2, min_col=n, max_col=n):
                    cell.number_format = "0.0" if column.kind == "tenths" else "0.00"
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def attachment(filename: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }


# --- the column lists of each resource ---


def _inst(attr: str) -> Callable[[Any], Any]:
    return lambda r: getattr(r.institution, attr)


def _get(attr: str) -> Callable[[Any], Any]:
    return lambda r: getattr(r, attr)


def _line(item: str, unit: str) -> str:
    """A heading named after a bill line, in the label table's words: "合规费用(元)"."""
    return f"{labels.LINE_ITEMS[item].zh}{unit}"


MONTH_STATEMENT = (
    Column("年度", _get("year")),
    Column("月份", _get("month")),
    Column("机构编码", _inst("code"), "text"),
    Column("机构名称", _inst("name"), "text"),
    Column("月末签约人数", _get("headcount")),
    Column("预付依据人数(上月末)", _get("prepayment_headcount")),
    Column("本月预付(元)", _get("prepayment_fen"), "fen"),
    Column("质量保证金(元)", _get("quality_guarantee_fen"), "fen"),
    Column("调节金(元)", _get("adjustment_fund_fen"), "fen"),
    Column("清算年度", _get("cleared_year")),
    Column("清算月份", _get("cleared_month")),
    Column("清算月预付额(元)", _get("cleared_prepayment_fen"), "fen"),
    Column("清算月实际统筹支付(元)", _get("cleared_actual_fen"), "fen"),
    Column("月清算额(元)", _get("cleared_fen"), "fen"),
    Column("清算预留质量保证金(元)", _get("withheld_fen"), "fen"),
    Column("清算差额(元)", _get("clearing_balance_fen"), "fen"),
    Column("调整-实际支付变动(元)", _get("adjustment_actual_fen"), "fen"),
    Column("调整-应付变动(元)", _get("adjustment_fen"), "fen"),
    Column("本期应付(元)", _get("payable_fen"), "fen"),
)
ADJUSTMENT = (
    Column("机构编码", lambda r: r[0].institution.code, "text"),
    Column("机构名称", lambda r: r[0].institution.name, "text"),
    Column("所涉年度", lambda r: r[1].touched_year),
    Column("所涉月份", lambda r: r[1].touched_month),
    Column("结算笔数", lambda r: r[1].movements),
    Column("实际支付变动(元)", lambda r: r[1].actual_fen, "fen"),
    Column("清算额变动(元)", lambda r: r[1].cleared_fen, "fen"),
    Column("预留保证金变动(元)", lambda r: r[1].withheld_fen, "fen"),
    Column("应付变动(元)", lambda r: r[1].paid_fen, "fen"),
    Column("本系统已清算", lambda r: r[1].cleared_here, "bool"),
)
YEAR_STATEMENT = (
    Column("年度", _get("year")),
    Column("机构编码", _inst("code"), "text"),
    Column("机构名称", _inst("name"), "text"),
    Column("年末签约人数", _get("headcount")),
    Column("已清算月数", _get("months_cleared")),
    Column("年度预付合计(元)", _get("prepaid_fen"), "fen"),
    Column("包干费用(元)", _get("package_fen"), "fen"),
    Column("全年实际统筹支付(元)", _get("actual_fen"), "fen"),
    Column("达到80%", _get("threshold_reached"), "bool"),
    Column("年终应结(元)", _get("due_fen"), "fen"),
    Column("结余奖励(元)", _get("reward_fen"), "fen"),
    Column("返还基金(元)", _get("returned_to_fund_fen"), "fen"),
    Column("超支不补(元)", _get("uncompensated_overspend_fen"), "fen"),
    Column("月清算合计(元)", _get("cleared_fen"), "fen"),
    Column("预留质量保证金(元)", _get("withheld_fen"), "fen"),
    Column("保证金返还比例(%)", _get("guarantee_release_bp"), "bp"),
    Column("返还质量保证金(元)", _get("guarantee_released_fen"), "fen"),
    Column("扣留质量保证金(元)", _get("guarantee_forfeited_fen"), "fen"),
    Column("年终结算差额(元)", _get("balance_fen"), "fen"),
    Column("考核得分", _get("assessment_score")),
    Column("考核等次", _get("assessment_grade"), "text"),
    Column("调节金计提(元)", _get("fund_accrued_fen"), "fen"),
    Column("调节金已调节拨付(元)", _get("fund_allocated_fen"), "fen"),
    Column("调节金年终结清(元)", _get("fund_settled_fen"), "fen"),
)
_REPORT_FIGURES = (
    Column("就诊人次", _get("visits")),
    Column(_line("general_fee", "(元)"), _get("general_fee_fen"), "fen"),
    Column(_line("compliant", "(元)"), _get("compliant_fen"), "fen"),
    Column(_line("non_compliant", "(元)"), _get("non_compliant_fen"), "fen"),
    Column("医疗费用总额(元)", _get("bill_total_fen"), "fen"),
    Column("统筹支付(元)", _get("fund_fen"), "fen"),
    Column("个人支付(元)", _get("member_fen"), "fen"),
)
REPORT_BY_STATION = (
    Column("机构编码", _get("facility_code"), "text"),
    Column("机构名称", _get("facility_name"), "text"),
    Column("机构类别", _get("kind"), "text"),
    Column("级别", _get("tier"), "text"),
    *_REPORT_FIGURES,
)
REPORT_BY_TIER = (
    Column("机构类别", _get("kind"), "text"),
    Column("级别", _get("tier"), "text"),
    *_REPORT_FIGURES,
)
ASSESSMENT = (
    Column("机构编码", _inst("code"), "text"),
    Column("机构名称", _inst("name"), "text"),
    Column("签约人数", _get("headcount")),
    Column("就诊人次", _get("visits")),
    Column("门诊就诊率(%)", _get("visit_rate_bp"), "bp"),
    Column("转诊人次", _get("referrals")),
    Column("转诊率(%)", _get("referral_rate_bp"), "bp"),
    Column("医疗费用总额(元)", _get("bill_total_fen"), "fen"),
    Column("统筹支付(元)", _get("fund_fen"), "fen"),
    Column("次均费用(元)", _get("avg_cost_per_visit_fen"), "fen"),
    Column("上年次均费用(元)", _get("previous_avg_cost_per_visit_fen"), "fen"),
    Column("次均费用增幅(%)", _get("avg_cost_growth_bp"), "bp"),
    Column(_line("general_fee", "占比(%)"), _get("general_fee_share_bp"), "bp"),
    Column(_line("compliant", "占比(%)"), _get("compliant_share_bp"), "bp"),
    Column(_line("non_compliant", "占比(%)"), _get("non_compliant_share_bp"), "bp"),
    Column("确认争议笔数", _get("confirmed_disputes")),
    Column("每千人次确认争议", _get("disputes_per_1000_visits_tenths"), "tenths"),
)
FUND_KINDS = labels.zh(labels.FUND_MOVEMENT_KINDS)
FUND_ACCOUNT = (
    Column("机构编码", _inst("code"), "text"),
    Column("机构名称", _inst("name"), "text"),
    Column("计提合计(元)", _get("accrued_fen"), "fen"),
    Column("调节拨付合计(元)", _get("allocated_fen"), "fen"),
    Column("年终结清(元)", _get("settled_fen"), "fen"),
    Column("余额(元)", _get("balance_fen"), "fen"),
)
FUND_MOVEMENT = (
    Column("机构编码", _inst("code"), "text"),
    Column("机构名称", _inst("name"), "text"),
    Column("年度", _get("year")),
    Column("月份", _get("month")),
    Column("类型", lambda r: FUND_KINDS.get(r.kind, r.kind), "text"),
    Column("金额(元)", _get("amount_fen"), "fen"),
    Column("余额(元)", _get("balance_fen"), "fen"),
    Column("事由", _get("reason"), "text"),
    Column("依据", _get("rule"), "text"),
    Column("经办人", _get("created_by_name"), "text"),
    Column("时间", _get("created_at"), "datetime"),
)
