"""/v1/auth: SMS code, login, refresh, logout, staff login."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from litestar import Controller, Request, delete, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from member_api.auth import service
from member_api.auth.schemas import (
    AliyunReceipt,
    AliyunReceiptsAccepted,
    LoginRequest,
    OtpRequest,
    OtpSent,
    ReceiptsAccepted,
    RefreshRequest,
    StaffLoginRequest,
    TencentReceipt,
    TokenPair,
    WechatLoginRequest,
)
from member_api.core.clock import LOCAL_TZ as SHANGHAI
from member_api.core.context import AppContext, client_address
from member_api.core.errors import DomainError
from member_api.core.openapi import problems
from member_api.core.principal import Principal, provide_account


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]

    @post(
        "/otp",
        status_code=HTTP_202_ACCEPTED,
        operation_id="sendLoginCode",
        summary="Send a 6-digit login code by SMS",
        opt=problems("rate_limited", "sms_rejected", "sms_unavailable"),
    )
    async def send_otp(self, data: OtpRequest, ctx: AppContext, request: Request) -> OtpSent:
        ttl = await service.send_otp(ctx, data.phone, client_address(request))
        return OtpSent(expires_in_s=ttl, resend_after_s=60)

    @post(
        "/login",
        status_code=HTTP_200_OK,
        operation_id="login",
        summary="Log in with phone and SMS code",
        opt=problems("otp_invalid"),
    )
    async def login(self, data: LoginRequest, ctx: AppContext) -> TokenPair:
        return await service.login_with_otp(ctx, data.phone, data.code)

    @post(
        "/staff/login",
        status_code=HTTP_200_OK,
        operation_id="loginStaff",
        summary="Counter clerk or agency reviewer login",
        opt=problems("login_failed", "login_throttled"),
    )
    async def staff_login(self, data: StaffLoginRequest, ctx: AppContext, request: Request) -> TokenPair:
        return await service.staff_login(ctx, data.username, data.password, client_address(request))

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        operation_id="refreshTokens",
        summary="Rotate the refresh token",
        opt=problems("refresh_invalid", "refresh_reused"),
    )
    async def refresh(self, data: RefreshRequest, ctx: AppContext) -> TokenPair:
        return await service.refresh(ctx, data.refresh_token)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="logout",
        summary="End the session of this refresh token: its refresh and access tokens stop working",
        security=[{"bearer": []}],
    )
    async def logout(self, data: RefreshRequest, ctx: AppContext, principal: Principal) -> None:
        await service.logout(ctx, data.refresh_token, principal)

    @post(
        "/wechat",
        status_code=HTTP_200_OK,
        operation_id="loginWechat",
        summary="Mini-program login with a wx.login code (the first time also proving the phone)",
        opt=problems(
            "wechat_code_invalid",
            "wechat_not_linked",
            "otp_invalid",
            "wechat_not_configured",
            "wechat_already_linked",
            "rate_limited",
            "wechat_unavailable",
        ),
    )
    async def wechat_login(self, data: WechatLoginRequest, ctx: AppContext, request: Request) -> TokenPair:
        return await service.wechat_login(
            ctx,
            data.code,
            client_address(request),
            phone_code=data.phone_code,
            phone=data.phone,
            sms_code=data.sms_code,
        )

    @delete(
        "/wechat",
        dependencies={"account": Provide(provide_account)},
        status_code=HTTP_204_NO_CONTENT,
        operation_id="unlinkWechat",
        summary="Unlink my WeChat user from my phone account (WeChat login stops until linked again)",
        security=[{"bearer": []}],
    )
    async def wechat_unlink(self, ctx: AppContext, account: Principal) -> None:
        await service.wechat_unlink(ctx, account)


def _receipt_token_ok(ctx: AppContext, token: str) -> None:
    expected = ctx.settings.sms_receipt_token
    if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        raise DomainError("not_found", "未找到", "Not found.")


def _local_time(text: str, ctx: AppContext) -> datetime:
    """Providers report receipt times as Beijing local ``YYYY-MM-DD HH:MM:SS``; ours when absent or odd."""
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        return ctx.clock.now()


class SmsReceiptsController(Controller):
    """Delivery receipts the SMS providers push (configured in each provider's console with the token)."""

    path = "/v1/sms/receipts"
    tags = ["auth"]
    include_in_schema = False

    @post("/tencent", status_code=HTTP_200_OK)
    async def tencent(
        self, data: list[TencentReceipt], ctx: AppContext, token: Annotated[str, Parameter(max_length=128)] = ""
    ) -> ReceiptsAccepted:
        _receipt_token_ok(ctx, token)
        await service.sms_receipts(
            "tencent",
            [(r.sid, r.report_status == "SUCCESS", r.errmsg, _local_time(r.user_receive_time, ctx)) for r in data],
        )
        return ReceiptsAccepted(result=0, errmsg="OK")

    @post("/aliyun", status_code=HTTP_200_OK)
    async def aliyun(
        self, data: list[AliyunReceipt], ctx: AppContext, token: Annotated[str, Parameter(max_length=128)] = ""
    ) -> AliyunReceiptsAccepted:
        _receipt_token_ok(ctx, token)
        await service.sms_receipts(
            "aliyun", [(r.biz_id, r.success, r.err_code, _local_time(r.report_time, ctx)) for r in data]
        )
        return AliyunReceiptsAccepted(code=0, msg="成功")
