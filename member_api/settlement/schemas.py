"""Bodies of /v1/counter and the settlement views shown to residents."""

from datetime import date, datetime
from typing import Annotated

import msgspec

from member_api.catalogue.schemas import ITEMS_DESCRIPTION, FeeLineIn, ItemView, TypedTotal
from member_api.core.types import BodyId
from member_api.ledger.schemas import LineView, SettlementView
from member_api.members.identity import IdNumber


class VerifyRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    credential: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    id_number: IdNumber | None = None


class VerifyResult(msgspec.Struct, kw_only=True):
    member_ref: str
    name_masked: str
    id_number_masked: str
    age: int
    year: int
    eligible: bool
    designated_here: bool
    designated_institution_id: int | None
    remaining_fen: int
    remaining_out_of_city_fen: int


class SettlementRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    visit_date: date
    items: Annotated[list[FeeLineIn], msgspec.Meta(description=ITEMS_DESCRIPTION)] | None = None
    general_fee_fen: TypedTotal = 0
    compliant_fen: TypedTotal = 0
    non_compliant_fen: TypedTotal = 0
    credential: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    id_number: IdNumber | None = None
    emergency: bool = False
    referral_id: BodyId | None = None
    quote_id: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    """A quote of this visit (``POST /v1/counter/quotes``); a quote is not needed to settle."""


class QuotedFigures(msgspec.Struct, kw_only=True):
    """What the quote named in the settlement said, to show next to what was settled."""

    quote_id: str
    fund_fen: int
    member_fen: int
    remaining_fen: int
    remaining_out_of_city_fen: int


class SettlementResult(SettlementView, kw_only=True):
    remaining_fen: int
    remaining_out_of_city_fen: int
    changed_since_quote: bool = False
    """True when a quote was named and any figure differs from it (the account moved in between): the figures
    here are the ones settled, never the quote's."""
    quoted: QuotedFigures | None = None


class QuoteResult(msgspec.Struct, kw_only=True):
    """A pre-settlement quote (R4, R6, R7 figures on the account as it stands); nothing was written."""

    quote_id: str
    expires_at: datetime
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
    manual_entry: bool
    """The bill was typed as three totals (deprecated), not itemised."""
    items: list[ItemView]
    """Each line as valued by the catalogue (R18) with its fund share before the cap (R4)."""
    out_of_city: bool
    emergency: bool
    remaining_before_fen: int
    remaining_before_out_of_city_fen: int
    remaining_fen: int
    """Annual cap left after this visit, if settled as quoted."""
    remaining_out_of_city_fen: int


class ReversalRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class ReconciliationKind(msgspec.Struct, kw_only=True):
    """Counts and sums of one kind of movement (``counter`` settlements, their ``reversal``s; reversals negative)."""

    kind: str
    count: int
    medfee_fen: int
    """The bills' total (general fee + compliant + non-compliant)."""
    fund_fen: int
    member_fen: int


class ReconciliationFund(msgspec.Struct, kw_only=True):
    """Sums by who pays: ``390100`` the residents' pooling fund (统筹基金), ``cash`` the member at the counter."""

    fund_pay_type: str
    name: str
    count: int
    amount_fen: int


class ReconciliationLine(msgspec.Struct, kw_only=True):
    settlement_id: int
    kind: str
    reverses: int | None
    member_id: int
    psn_no: str
    visit_date: date
    settled_at: datetime
    medfee_fen: int
    fund_fen: int
    member_fen: int


class Reconciliation(msgspec.Struct, kw_only=True):
    """A facility's counter day (or days) as the ledger recorded it: totals, by kind, by fund type, and every line.

    Days are local (Asia/Shanghai) and inclusive; a movement belongs to the day it was recorded (a reversal to the
    day it was made, not the day of the settlement it undoes). ``count`` counts records, reversals included.
    """

    facility_id: int
    facility_name: str
    date_from: date
    date_to: date
    count: int
    medfee_fen: int
    fund_fen: int
    member_fen: int
    by_kind: list[ReconciliationKind]
    by_fund_type: list[ReconciliationFund]
    items: list[ReconciliationLine]
