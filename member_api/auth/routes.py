"""/v1/auth: SMS code, login, refresh, logout, staff login."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from member_api.auth import service
from member_api.auth.schemas import (
    LoginRequest,
    OtpRequest,
    OtpSent,
    RefreshRequest,
    StaffLoginRequest,
    TokenPair,
)
from member_api.core.context import AppContext, client_address
from member_api.core.openapi import problems
from member_api.core.principal import Principal


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]

    @post(
        "/otp",
        status_code=HTTP_202_ACCEPTED,
        operation_id="sendLoginCode",
        summary="Send a 6-digit login code by SMS",
        opt=problems(rate_limited=429),
    )
    async def send_otp(self, data: OtpRequest, ctx: AppContext, request: Request) -> OtpSent:
        ttl = await service.send_otp(ctx, data.phone, client_address(request))
        return OtpSent(expires_in_s=ttl, resend_after_s=60)

    @post(
        "/login",
        status_code=HTTP_200_OK,
        operation_id="login",
        summary="Log in with phone and SMS code",
        opt=problems(otp_invalid=401),
    )
    async def login(self, data: LoginRequest, ctx: AppContext) -> TokenPair:
        return await service.login_with_otp(ctx, data.phone, data.code)

    @post(
        "/staff/login",
        status_code=HTTP_200_OK,
        operation_id="loginStaff",
        summary="Counter clerk or agency reviewer login",
        opt=problems(login_failed=401, login_throttled=429),
    )
    async def staff_login(self, data: StaffLoginRequest, ctx: AppContext, request: Request) -> TokenPair:
        return await service.staff_login(ctx, data.username, data.password, client_address(request))

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        operation_id="refreshTokens",
        summary="Rotate the refresh token",
        opt=problems(refresh_invalid=401, refresh_reused=401),
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
