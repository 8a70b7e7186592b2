"""Bodies of /v1/counter/referrals and /v1/me/referrals."""

from datetime import date, datetime
from typing import Annotated

import msgspec

from member_api.core.types import BodyId
from member_api.members.identity import IdNumber


class ReferralCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    target_facility_id: BodyId
    valid_from: date
    valid_to: date
    credential: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    id_number: IdNumber | None = None


class ReferralView(msgspec.Struct, kw_only=True):
    id: int
    member_id: int
    from_facility_id: int
    target_facility_id: int
    valid_from: date
    valid_to: date
    created_at: datetime
