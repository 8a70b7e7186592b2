"""Bodies of /v1/me, /v1/me/dependants, binding codes and counter bindings."""

from datetime import date, datetime
from typing import Annotated

import msgspec

from member_api.members.identity import IdNumber


class BindingRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id_number: IdNumber
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class BindingCode(msgspec.Struct, kw_only=True):
    """Shown by the app at a counter; the clerk enters it with the ID number after checking the ID card."""

    binding_code: str
    expires_at: datetime


class CounterBindingRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    binding_code: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    id_number: Annotated[str, msgspec.Meta(max_length=32)]


class CounterBinding(msgspec.Struct, kw_only=True):
    member_id: int
    name_masked: str
    id_number_masked: str
    phone_masked: str
    bound_at: datetime
    replaced_binding: bool
    """True when the record was bound to another phone before; that account was unbound and is told why."""


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


class MeView(msgspec.Struct, kw_only=True, omit_defaults=True):
    phone_masked: str
    bound: bool
    member: MemberView | None
    unbound_reason: str | None = None
    """Why this account lost its record: ``registry_phone_changed`` (the registry now has another phone; bind
    again at a counter), ``rebound_at_counter`` (a counter bound the record to another phone after checking
    the ID card) or ``duplicate_binding``."""


class PaymentEventIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A contribution payment, as the agency's payment system reports it."""

    event_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    """The payment system's own id of the payment: a repeat of it is never applied twice."""
    insurance_no: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    amount_fen: Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]
    paid_on: date
    channel: Annotated[str, msgspec.Meta(max_length=32)] = ""


class PaymentEventResult(msgspec.Struct, kw_only=True):
    event_id: str
    member_id: int
    year: int
    paid_up: bool
    covered_from: date
    duplicate: bool
    """True when this event id was received before: nothing was applied again."""


class ContributionStatus(msgspec.Struct, kw_only=True):
    """参保缴费 as the resident sees it: this year and next, and when next year's contribution is collected."""

    year: int
    paid_this_year: bool
    next_year: int
    paid_next_year: bool
    window_opens: date
    window_closes: date
    window_open_now: bool
    payment_url: str
