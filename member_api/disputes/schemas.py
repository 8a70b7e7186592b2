"""Bodies of /v1/me/disputes and /v1/review/disputes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar.datastructures import UploadFile

from member_api.core.types import BodyId

DisputeReason = Literal["not_me", "wrong_amount", "not_received", "other"]
DisputeStatus = Literal["open", "in_review", "confirmed", "rejected"]


@dataclass
class DisputeForm:
    """Multipart: the settlement, the reason, an explanation and at most one photo."""

    settlement_id: BodyId
    reason: DisputeReason
    text: str = ""
    photo: UploadFile | None = None


class DisputeDecision(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    decision: Literal["confirm", "reject"]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class DisputeView(msgspec.Struct, kw_only=True):
    id: int
    settlement_id: int
    member_id: int
    facility_id: int
    reason: DisputeReason
    text: str
    has_photo: bool
    status: DisputeStatus
    decision_reason: str
    reversal_id: int | None
    created_at: datetime
    decided_at: datetime | None
