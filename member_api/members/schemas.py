"""Bodies of /v1/me and /v1/me/dependants."""

from datetime import date
from typing import Annotated

import msgspec

from member_api.members.identity import IdNumber


class BindingRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id_number: IdNumber
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class EnrollmentView(msgspec.Struct, kw_only=True):
    year: int
    paid_up: bool
    enrolled_on: date


class MemberView(msgspec.Struct, kw_only=True):
    id: int
    insurance_no: str
    name: str
    id_number_masked: str
    birth_date: date
    sex: str
    division: str
    enrollments: list[EnrollmentView]


class MeView(msgspec.Struct, kw_only=True):
    phone_masked: str
    bound: bool
    member: MemberView | None
