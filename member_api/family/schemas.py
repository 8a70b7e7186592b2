"""Bodies of /v1/me/family and /v1/counter/family-grants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from member_api.members.identity import IdNumber

Scope = Literal["view", "credential", "claims", "designation"]


class GrantRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The relative asks to act for the member with this ID number, in these scopes."""

    id_number: IdNumber
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=4)]


class GrantRequested(msgspec.Struct, kw_only=True):
    """The one answer to a request, whether or not the number is an insured adult (nothing is revealed): that member
    finds the request in their own account (``GET /v1/me/family``, ``acting_for_me``) and confirms it there or at a
    counter; the requester sees the authorisation in ``i_act_for`` once it is confirmed."""

    status: Literal["requested"] = "requested"
    scopes: list[Scope]
    message_zh: str


class CounterConfirmation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The clerk saw the authorising member's ID card and types its number."""

    id_number: IdNumber


class PersonRef(msgspec.Struct, kw_only=True):
    member_id: int
    name_masked: str
    id_number_masked: str


class GrantView(msgspec.Struct, kw_only=True):
    id: int
    member: PersonRef
    relative: PersonRef
    scopes: list[Scope]
    status: Literal["pending", "active", "revoked"]
    requested_at: datetime
    confirmed_at: datetime | None
    confirmed_by: str
    ended_at: datetime | None
    ended_by: str


class FamilyView(msgspec.Struct, kw_only=True):
    acting_for_me: list[GrantView]
    i_act_for: list[GrantView]


class ActView(msgspec.Struct, kw_only=True):
    at: datetime
    actor: str
    relative_member_id: int | None
    via: str
    scope: str
    method: str
    path: str
