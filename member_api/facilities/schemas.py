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


class MadeBy(msgspec.Struct, kw_only=True):
    """Who made a designation or filed a change request (R2 history)."""

    role: Literal["resident", "clerk", "agency", "system"]
    """``resident``: the member or a relative acting for them; ``clerk``: a facility clerk at the counter, after
    checking the ID card; ``agency``: agency staff; ``system``: the yearly carry-over."""
    facility_id: int | None = None
    facility_name: str | None = None
    """The clerk's facility (``clerk`` only)."""


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
    made_by: MadeBy | None = None
    """Who made it; null for rows older than this record."""


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
    filed_by: MadeBy | None = None
    """Who filed it; null for requests older than this record."""


class DecisionRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    decision: Literal["approve", "reject"]
    comment: Annotated[str, msgspec.Meta(max_length=500)] = ""


class CounterDesignationRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A clerk records a resident's first designation of the year: the clerk's institution and one of its stations."""

    id_number: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    """From the resident's ID card, checked by the clerk."""
    station_id: BodyId | None = None


@dataclass
class CounterChangeRequestForm:
    """A change request a clerk files for a resident, with the scanned evidence."""

    id_number: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    institution_id: BodyId
    reason: ChangeReason
    station_id: BodyId | None = None
    reason_text: Annotated[str, msgspec.Meta(max_length=500)] = ""
    evidence: list[UploadFile] = field(default_factory=list)
