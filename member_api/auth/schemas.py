"""Request and response bodies of /v1/auth."""

from typing import Annotated

import msgspec

from member_api.core.types import OtpCode, Phone


class OtpRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    phone: Phone


class OtpSent(msgspec.Struct, kw_only=True):
    expires_in_s: int
    resend_after_s: int


class LoginRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    phone: Phone
    code: OtpCode


class StaffLoginRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(max_length=64)]
    password: Annotated[str, msgspec.Meta(max_length=256)]


class RefreshRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(max_length=128)]


class TokenPair(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    role: str
