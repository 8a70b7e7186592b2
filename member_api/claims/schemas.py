"""Bodies of /v1/me/claims, /v1/review/claims and /v1/counter/referrals."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from litestar.datastructures import UploadFile

from member_api.catalogue.schemas import ITEMS_DESCRIPTION, FeeLineIn, ItemView, TypedTotal
from member_api.core.types import BodyId


class ClaimItemIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    care_date: date
    facility_id: BodyId | None = None
    out_of_city_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    items: Annotated[list[FeeLineIn], msgspec.Meta(description=ITEMS_DESCRIPTION)] | None = None
    """The visit's bill lines from its itemised expense list (R18): valued with the catalogue of the care date."""
    general_fee_fen: TypedTotal = 0
    compliant_fen: TypedTotal = 0
    non_compliant_fen: TypedTotal = 0


class ClaimCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    kind: Literal["newborn", "referral"]
    items: Annotated[list[ClaimItemIn], msgspec.Meta(min_length=1, max_length=50)]
    referral_id: BodyId | None = None
    lodged_with_id: BodyId | None = None


@dataclass
class ReceiptForm:
    item_id: BodyId
    files: list[UploadFile] = field(default_factory=list)


class ReceiptView(msgspec.Struct, kw_only=True):
    id: int
    item_id: int
    sha256: str
    content_type: str
    size: int
    reused: bool


class ClaimItemView(msgspec.Struct, kw_only=True):
    id: int
    care_date: date
    facility_id: int | None
    out_of_city_name: str
    general_fee_fen: int
    compliant_fen: int
    non_compliant_fen: int
    status: str
    reject_reason: str
    fund_fen: int
    settlement_id: int | None
    receipts: list[ReceiptView]
    manual_entry: bool
    """The visit's bill was typed as three totals (deprecated), not itemised."""
    items: list[ItemView]
    """The visit's bill lines (R18): as paid once approved, as valued when claimed before."""


ClaimStatus = Literal["draft", "submitted", "in_review", "approved", "partly_approved", "rejected"]
"""Approved items are paid into the member's account when decided, so approved means paid."""


class ClaimView(msgspec.Struct, kw_only=True):
    id: int
    member_id: int
    kind: str
    status: ClaimStatus
    referral_id: int | None
    lodged_with_id: int
    division: str
    paid_fen: int
    reviewer_comment: str
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    review_started_at: datetime | None
    review_started_by: int | None
    items: list[ClaimItemView]


class ItemDecision(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    item_id: BodyId
    decision: Literal["approve", "reject"]
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class ClaimDecision(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: Annotated[list[ItemDecision], msgspec.Meta(min_length=1, max_length=50)]
    comment: Annotated[str, msgspec.Meta(max_length=500)] = ""
