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


class WechatLoginRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``code`` from ``wx.login``. The first time, also ``phone_code`` (the getPhoneNumber button's code) or
    ``phone`` + ``sms_code`` (a code from ``POST /v1/auth/otp``) to prove the phone account to link."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    phone_code: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    phone: Phone | None = None
    sms_code: OtpCode | None = None


class WechatLink(msgspec.Struct, kw_only=True):
    linked: bool


class ReceiptsAccepted(msgspec.Struct, kw_only=True):
    result: int
    errmsg: str


class TencentReceipt(msgspec.Struct, kw_only=True):
    """One entry of Tencent Cloud SMS's status callback (回执): ``sid`` is SendSms's SerialNo."""

    sid: str
    report_status: str
    errmsg: str = ""
    user_receive_time: str = ""


class AliyunReceipt(msgspec.Struct, kw_only=True):
    """One entry of Alibaba Cloud SMS's HTTP batch receipt push (SmsReport): ``biz_id`` is SendSms's BizId."""

    biz_id: str
    success: bool
    err_code: str = ""
    report_time: str = ""


class AliyunReceiptsAccepted(msgspec.Struct, kw_only=True):
    code: int
    msg: str
