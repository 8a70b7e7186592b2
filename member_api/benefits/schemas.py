"""Bodies of /v1/me/benefits and /v1/me/settlements."""

from datetime import datetime

import msgspec

from member_api.facilities.schemas import DesignationView
from member_api.settlement.schemas import SettlementView


class Benefits(msgspec.Struct, kw_only=True):
    year: int
    enrolled: bool
    eligible: bool
    annual_cap_fen: int
    used_fen: int
    remaining_fen: int
    out_of_city_cap_fen: int
    out_of_city_used_fen: int
    out_of_city_remaining_fen: int
    designation: DesignationView | None
    as_of: datetime


class SettlementPage(msgspec.Struct, kw_only=True):
    items: list[SettlementView]
    next_cursor: str | None


class MonthTotal(msgspec.Struct, kw_only=True):
    month: int
    fund_fen: int
    member_fen: int
    visits: int


class FacilityTotal(msgspec.Struct, kw_only=True):
    facility_id: int
    facility_name: str
    fund_fen: int
    member_fen: int
    visits: int


class Summary(msgspec.Struct, kw_only=True):
    year: int
    by_month: list[MonthTotal]
    by_facility: list[FacilityTotal]
