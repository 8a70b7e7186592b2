"""Bodies of /v1/facilities, /v1/me/designation and the change-request review."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from litestar.datastructures import UploadFile

from member_api.core.types import BodyId


class FacilityView(msgspec.Struct, kw_only=True):
    id: int
    code: str
    name: str
    kind: str
    tier: str
    division: str
    address: str
    lat: float
    lng: float
    in_city: bool
    parent_id: int | None
    distance_m: int | None = None


class FacilityDetail(FacilityView, kw_only=True):
    stations: list[FacilityView]


class FacilityPage(msgspec.Struct, kw_only=True):
    items: list[FacilityView]
    next_cursor: str | None


class DesignationRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    institution_id: BodyId
    station_id: BodyId | None = None


class DesignationView(msgspec.Struct, kw_only=True):
    id: int
    member_id: int
    year: int
    institution: FacilityView
    station: FacilityView | None
    valid_from: date
    valid_to: date | None
    source: str
    change_request_id: int | None


class CurrentDesignation(msgspec.Struct, kw_only=True):
    year: int
    designation: DesignationView | None
    change_free: bool
    """True while a change this year still takes effect at once (no review)."""


ChangeReason = Literal["relocation", "facility_closed", "other"]


@dataclass
class ChangeRequestForm:
    institution_id: BodyId
    reason: ChangeReason
    station_id: BodyId | None = None
    reason_text: Annotated[str, msgspec.Meta(max_length=500)] = ""
    evidence: list[UploadFile] = field(default_factory=list)


class EvidenceView(msgspec.Struct, kw_only=True):
    id: int
    sha256: str
    content_type: str
    size: int


class ChangeRequestView(msgspec.Struct, kw_only=True):
    id: int
    member_id: int
    year: int
    institution_id: int
    station_id: int | None
    reason: str
    reason_text: str
    status: str
    division: str
    decision_comment: str
    decided_at: datetime | None
    effective_from: date | None
    created_at: datetime
    evidence: list[EvidenceView]


class DecisionRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    decision: Literal["approve", "reject"]
    comment: Annotated[str, msgspec.Meta(max_length=500)] = ""
