"""The fund-payments-by-month chart, drawn on the server by pygal as a self-contained SVG (no script, no web font)."""

from __future__ import annotations

import re

import pygal
from pygal.style import Style

from member_api.benefits.schemas import Summary

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2530",
    foreground_strong="#1d2530",
    foreground_subtle="#e3e7ed",
    colors=("#0a6bd6",),
    font_family="'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=11,
    value_label_font_size=11,
    title_font_size=14,
    tooltip_font_size=12,
)


def fund_by_month(summary: Summary) -> bytes:
    """Twelve bars of what the fund paid per month of care, in yuan (reversals net out)."""
    by_month = {m.month: m.fund_fen for m in summary.by_month}
    chart = pygal.Bar(
        style=STYLE,
        width=400,
        height=280,
        show_legend=False,
        js=[],  # no script from any host: the SVG is a plain picture
        disable_xml_declaration=False,
        margin=12,
        print_values=True,
        print_zeroes=False,
        value_formatter=lambda v: f"{v:.2f}" if v else "",
        y_title="元",
        x_labels=[str(m) for m in range(1, 13)],
        x_title="月份",
        range=(0, max(10.0, max(by_month.values(), default=0) / 100 * 1.15)),
    )
    chart.add("统筹支付", [max(0, by_month.get(m, 0)) / 100 for m in range(1, 13)])
    return _SCRIPT.sub(b"", bytes(chart.render()))


_SCRIPT = re.compile(rb"<script\b.*?</script>", re.DOTALL)  # pygal's inline config for its (unused) tooltips
