"""Login by SMS code, staff login, rotating refresh tokens whose reuse revokes the family."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from member_api.audit.service import record
from member_api.auth.passwords import verify_password
from member_api.auth.schemas import TokenPair
from member_api.auth.tables import OtpChallenge, RefreshToken, Staff
from member_api.auth.tokens import access_token
from member_api.core import ratelimit
from member_api.core.context import AppContext
from member_api.core.errors import ApiError, invalid_field
from member_api.db import write_transaction
from member_api.members.identity import mask_phone, valid_phone
from member_api.members.tables import Account


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _otp_invalid() -> ApiError:
    return ApiError("otp_invalid", 401, "验证码错误或已失效", "The code is wrong or has expired.")


def _check_phone(phone: str) -> str:
    phone = phone.strip()
    if not valid_phone(phone):
        raise invalid_field(
            "phone", "请输入正确的 11 位手机号", "must be an 11-digit mainland mobile number", code="invalid_phone"
        )
    return phone


async def send_otp(ctx: AppContext, phone: str, client: str) -> int:
    """Send a code unless a limit says no. The answer is the same for known and unknown phones."""
    phone = _check_phone(phone)
    s, now = ctx.settings, ctx.clock.now()
    phone_hash = ctx.keyring.keyed_hash("phone", phone)
    client_hash = ctx.keyring.keyed_hash("client", client)
    code = f"{secrets.randbelow(10**6):06d}"
    async with write_transaction():
        await ratelimit.enforce("otp_phone_minute", phone_hash, now, s.otp_per_phone_per_minute, timedelta(minutes=1))
        await ratelimit.enforce("otp_phone_day", phone_hash, now, s.otp_per_phone_per_day, timedelta(days=1))
        await ratelimit.enforce("otp_client", client_hash, now, s.otp_per_client_per_hour, timedelta(hours=1))
        for kind, key in (("otp_phone_minute", phone_hash), ("otp_phone_day", phone_hash), ("otp_client", client_hash)):
            await ratelimit.hit(kind, key, now)
        # A new code replaces any earlier one: only the latest can be used.
        await OtpChallenge.update({OtpChallenge.used: True}).where(
            (OtpChallenge.phone_hash == phone_hash) & (OtpChallenge.used == False)  # noqa: E712
        )
        await OtpChallenge.insert(
            OtpChallenge(
                phone_hash=phone_hash,
                code_hash=ctx.keyring.keyed_hash("otp", f"{phone}:{code}"),
                expires_at=now + timedelta(seconds=s.otp_ttl_s),
                attempts=0,
                used=False,
                created_at=now,
            )
        ).run()
    await ctx.sms.send_code(phone, code, now)
    return s.otp_ttl_s


async def login_with_otp(ctx: AppContext, phone: str, code: str) -> TokenPair:
    phone = _check_phone(phone)
    now = ctx.clock.now()
    phone_hash = ctx.keyring.keyed_hash("phone", phone)
    async with write_transaction():
        challenge = (
            await OtpChallenge.objects()
            .where(
                (OtpChallenge.phone_hash == phone_hash)
                & (OtpChallenge.used == False)  # noqa: E712
                & (OtpChallenge.expires_at > now)
            )
            .order_by(OtpChallenge.id, ascending=False)
            .first()
        )
        if challenge is None:
            raise _otp_invalid()
        expected = ctx.keyring.keyed_hash("otp", f"{phone}:{code.strip()}")
        if not hmac.compare_digest(expected, challenge.code_hash):
            challenge.attempts += 1
            challenge.used = challenge.attempts >= ctx.settings.otp_max_attempts
            await challenge.save([OtpChallenge.attempts, OtpChallenge.used])
            ok = False
        else:
            challenge.used = True
            await challenge.save([OtpChallenge.used])
            ok = True
            account = await Account.objects().where(Account.phone_hash == phone_hash).first()
            if account is None:
                account = Account(phone_hash=phone_hash, phone_masked=mask_phone(phone), created_at=now)
                await account.save()
            await record(now, f"account:{account.id}", "login", "account", account.id)
            pair = await _issue(ctx, subject=f"a{account.id}", role="member", facility_id=None)
    if not ok:
        raise _otp_invalid()
    return pair


async def staff_login(ctx: AppContext, username: str, password: str) -> TokenPair:
    s, now = ctx.settings, ctx.clock.now()
    staff = await Staff.objects().where(Staff.username == username.strip()).first()
    if staff and staff.locked_until and staff.locked_until > now:
        raise ApiError(
            "account_locked",
            429,
            "登录失败次数过多，账号已暂时锁定",
            "Too many failures; account locked.",
            headers={"Retry-After": str(int((staff.locked_until - now).total_seconds()) + 1)},
        )
    ok = verify_password(staff.password_hash if staff else None, password) and bool(staff and staff.active)
    async with write_transaction():
        if staff is None:
            raise ApiError("login_failed", 401, "用户名或密码错误", "Wrong username or password.")
        if not ok:
            staff.failed_attempts += 1
            if staff.failed_attempts >= s.staff_max_failures:
                staff.locked_until = now + timedelta(seconds=s.staff_lockout_s)
                staff.failed_attempts = 0
            await staff.save([Staff.failed_attempts, Staff.locked_until])
            await record(now, f"staff:{staff.id}", "staff_login_failed", "staff", staff.id)
        else:
            staff.failed_attempts = 0
            await staff.save([Staff.failed_attempts])
            pair = await _issue(ctx, subject=f"s{staff.id}", role=staff.role, facility_id=staff.facility)
    if not ok:
        raise ApiError("login_failed", 401, "用户名或密码错误", "Wrong username or password.")
    return pair


async def _issue(
    ctx: AppContext, *, subject: str, role: str, facility_id: int | None, family: str | None = None
) -> TokenPair:
    s, now = ctx.settings, ctx.clock.now()
    refresh = secrets.token_urlsafe(32)
    await RefreshToken.insert(
        RefreshToken(
            token_hash=_sha(refresh),
            family=family or secrets.token_hex(16),
            subject=subject,
            role=role,
            facility_id=facility_id,
            expires_at=now + timedelta(seconds=s.refresh_token_ttl_s),
            created_at=now,
        )
    ).run()
    token = access_token(
        ctx.keyring,
        subject=subject,
        role=role,
        facility_id=facility_id,
        issuer=s.issuer,
        audience=s.audience,
        now=now,
        ttl_s=s.access_token_ttl_s,
    )
    bearer = "Bearer"
    return TokenPair(
        access_token=token, refresh_token=refresh, token_type=bearer, expires_in=s.access_token_ttl_s, role=role
    )


def _refresh_invalid() -> ApiError:
    return ApiError("refresh_invalid", 401, "登录已失效，请重新登录", "The refresh token is not valid.")


async def refresh(ctx: AppContext, token: str) -> TokenPair:
    """Rotate: the presented token is spent; presenting a spent one revokes every token of its family."""
    now = ctx.clock.now()
    reused = False
    async with write_transaction():
        row = await RefreshToken.objects().where(RefreshToken.token_hash == _sha(token)).first()
        if row is None or row.revoked or row.expires_at <= now:
            raise _refresh_invalid()
        if row.used_at is not None:
            await RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.family == row.family)
            await record(now, row.subject, "refresh_reuse_revoked_family", "token_family", row.family)
            reused = True
        else:
            row.used_at = now
            await row.save([RefreshToken.used_at])
            pair = await _issue(ctx, subject=row.subject, role=row.role, facility_id=row.facility_id, family=row.family)
    if reused:
        raise ApiError(
            "refresh_reused",
            401,
            "登录凭据已被使用，请重新登录",
            "This refresh token was already used; all sessions of this login are revoked.",
        )
    return pair


async def logout(ctx: AppContext, token: str, subject: str) -> None:
    async with write_transaction():
        row = await RefreshToken.objects().where(RefreshToken.token_hash == _sha(token)).first()
        if row is not None and row.subject == subject:
            await RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.family == row.family)
            await record(ctx.clock.now(), subject, "logout", "token_family", row.family)
