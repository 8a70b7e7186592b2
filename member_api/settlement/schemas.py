"""Bodies of /v1/counter and the settlement views shown to residents."""

from datetime import date
from typing import Annotated

import msgspec

from member_api.core.types import BodyId, Fen
from member_api.ledger.schemas import SettlementView
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
    general_fee_fen: Annotated[int, Fen] = 0
    compliant_fen: Annotated[int, Fen] = 0
    non_compliant_fen: Annotated[int, Fen] = 0
    credential: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    id_number: IdNumber | None = None
    emergency: bool = False
    referral_id: BodyId | None = None


class SettlementResult(SettlementView, kw_only=True):
    remaining_fen: int
    remaining_out_of_city_fen: int


class ReversalRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
