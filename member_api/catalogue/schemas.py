"""Bodies of /v1/catalogue and the bill line shapes every money-computing body shares (quotes, settlements, claims)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from member_api.policy.fee_lines import MAX_LINES

CODE = msgspec.Meta(max_length=50, pattern=r"^[0-9A-Za-z._\-]*$", description="national catalogue code (med_list_codg)")
FACILITY_CODE = msgspec.Meta(max_length=50, description="the facility's own item code (medins_list_codg)")


class FeeLineIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One bill line: a national code (or only the facility's own code, mapped by the catalogue), a count and a unit
    price. A code outside the catalogue on the date of care is not an error: the line is self-paid, with the reason.
    """

    line_no: Annotated[int, msgspec.Meta(ge=1, le=99_999, description="unique within the bill")]
    code: Annotated[str, CODE] = ""
    facility_code: Annotated[str, FACILITY_CODE] | None = None
    count: Annotated[
        Decimal, msgspec.Meta(description="positive, at most 2 decimals (a JSON number or a decimal string)")
    ]
    unit_price_fen: Annotated[int, msgspec.Meta(le=100_000_000, description="positive, in fen (1/100 CNY)")]
    chrgitm_lv: Literal["01", "02", "03"] | None = None
    """The category the facility's system gives the line, if it sends one: it never changes the valuation; a line
    sent as 01/02 that the catalogue makes self-paid is marked ``billed_as_compliant`` for the agency (R16)."""


ITEMS_DESCRIPTION = (
    f"Itemised bill (R18): at most {MAX_LINES} lines, valued by the catalogue entry valid on the date of care; the "
    "three totals are then derived from the lines and must be left out. A bad line (count or price not positive, "
    "more than 2 decimals in a count, a line number used twice, too many lines) is refused with 422 "
    "`invalid_items` naming the line."
)


DEPRECATED_TOTAL = (
    "Deprecated (R18): a total typed by hand, kept for a transition and shown as manual entry; send `items` instead, "
    "and the catalogue derives this total."
)
TypedTotal = Annotated[
    int, msgspec.Meta(ge=0, le=100_000_000, description=DEPRECATED_TOTAL, extra_json_schema={"deprecated": True})
]
"""One of the three totals a bill used to be typed as (general fee, compliant, non-compliant), in fen."""


class ItemView(msgspec.Struct, kw_only=True):
    """A bill line as valued (R18) and paid (R6 for the general diagnosis fee, R7 otherwise; before the cap, R4).

    ``amount_fen = over_limit_fen + preselfpay_fen + selfpay_fen + compliant_fen``; the fund pays ``ratio_bp`` of
    the compliant part. Field names of the national fee detail: overlmt_amt, preselfpay_amt, fulamt_ownpay_amt,
    inscp_scp_amt.
    """

    line_no: int
    code: str
    facility_code: str | None
    name: str
    kind: str | None
    category: str
    """chrgitm_lv: 01 甲类, 02 乙类, 03 丙类 (also for a code outside the catalogue on the date of care)."""
    count: float
    unit_price_fen: int
    amount_fen: int
    price_ceiling_fen: int | None
    selfpay_prop_bp: int
    over_limit_fen: int
    preselfpay_fen: int
    selfpay_fen: int
    compliant_fen: int
    ratio_bp: int
    fund_fen: int
    general_fee: bool
    reasons: list[str]
    reason_zh: str
    reason_en: str


ITEM_COLUMNS = tuple(f for f in ItemView.__struct_fields__ if f not in ("reason_zh", "reason_en"))
"""What of a line a store keeps (the words are derived): the columns of ``movement_item`` and claim lines."""


class EntryView(msgspec.Struct, kw_only=True):
    code: str
    name: str
    kind: str
    category: str
    selfpay_prop_bp: int
    price_ceiling_fen: int | None
    spec: str
    valid_from: date
    valid_to: date | None
    facility_code: str | None = None
    """The searching clerk's facility's own code for it, when mapped."""


class CataloguePage(msgspec.Struct, kw_only=True):
    items: list[EntryView]
    on: date
    """The date the entries are valid on (today by default)."""


class ImportReport(msgspec.Struct, kw_only=True):
    """What an import did: re-importing the same file changes nothing (``unchanged`` counts it)."""

    file: str
    encoding: str
    rows: int
    added: int
    closed: int
    corrected: int
    unchanged: int
    rejected: int
    rejected_rows: list[str]
    """The first rejected rows (line number and reason)."""
