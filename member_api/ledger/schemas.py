"""How a fund movement is shown: to the resident, the counter and the reviewer alike."""

from datetime import date, datetime

import msgspec

from member_api.catalogue.schemas import ItemView


class LineView(msgspec.Struct, kw_only=True):
    item: str
    amount_fen: int
    ratio_bp: int
    fund_fen: int
    reasons: list[str]


class SettlementView(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    member_id: int
    facility_id: int
    facility_name: str
    visit_date: date
    year: int
    general_fee_fen: int
    compliant_fen: int
    non_compliant_fen: int
    fund_fen: int
    member_fen: int
    reasons: list[str]
    lines: list[LineView]
    repeat_same_day: bool
    out_of_city: bool
    emergency: bool
    reverses: int | None
    reversed_by: int | None
    created_at: datetime
    manual_entry: bool = True
    """The bill was typed as three totals (the deprecated body), not itemised lines valued by the catalogue (R18)."""
    items: list[ItemView] = []
    """The bill's lines as valued and paid when settled (R18); in lists, only a detail view carries them."""
