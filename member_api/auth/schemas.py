"""Request and response bodies of /v1/auth."""

import msgspec


class OtpRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    phone: str = msgspec.field()


class OtpSent(msgspec.Struct, kw_only=True):
    expires_in_s: int
    resend_after_s: int


class LoginRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    phone: str
    code: str


class StaffLoginRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    username: str
    password: str


class RefreshRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    refresh_token: str


class TokenPair(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    role: str
