"""Login by SMS code, staff login, sessions and rotating refresh tokens whose reuse ends the session.

Every limit and single-use object here is decided by one statement or a locked row inside the transaction
(see ``core.ratelimit`` and ``auth.queries``), so concurrent requests on any number of workers and
databases cannot slip past it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

import anyio

from member_api.audit.service import record
from member_api.auth import queries
from member_api.auth.passwords import verify_password
from member_api.auth.schemas import TokenPair
from member_api.auth.tables import AuthSession, OtpChallenge, RefreshToken
from member_api.auth.tokens import access_token
from member_api.core import labels, ratelimit, wechat
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, invalid_field
from member_api.core.principal import Principal
from member_api.core.sms import SmsRejected, SmsUnavailable
from member_api.core.wechat import WechatError, WechatUnavailable
from member_api.db import write_transaction
from member_api.members.identity import mask_phone, valid_phone
from member_api.members.tables import Account


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _otp_invalid() -> DomainError:
    return DomainError("otp_invalid", "验证码错误或已失效", "The code is wrong or has expired.")


def _login_failed() -> DomainError:
    return DomainError("login_failed", "用户名或密码错误", "Wrong username or password.")


def _check_phone(phone: str) -> str:
    phone = phone.strip()
    if not valid_phone(phone):
        raise invalid_field(
            "phone", "请输入正确的 11 位手机号", "must be an 11-digit mainland mobile number", code="invalid_phone"
        )
    return phone


def _sms_rejected(reason: str) -> DomainError:
    label = labels.SMS_REJECTIONS.get(reason, labels.SMS_REJECTIONS["invalid_number"])
    return DomainError("sms_rejected", label.zh, label.en, extra={"reason": reason})


def sms_unavailable(retry_after_s: int) -> DomainError:
    return DomainError(
        "sms_unavailable",
        "短信服务暂时不可用，请稍后再试",
        "The SMS service is unavailable; try again shortly.",
        headers={"Retry-After": str(retry_after_s)},
        extra={"retry_after_s": retry_after_s},
    )


_OTP_LIMITS = (("otp_phone_minute", timedelta(minutes=1)), ("otp_phone_day", timedelta(days=1)))


async def send_otp(ctx: AppContext, phone: str, client: str) -> int:
    """Send a code unless a limit says no. The answer is the same for known and unknown phones.

    The three limits are counted in one transaction: if any refuses, none of the others is spent. The code is
    stored only once a provider accepted the message; when none did, the counted send is given back (so the
    resident may retry at once) and the answer is a 4xx naming the reason (the number) or a 503 (providers).
    """
    phone = _check_phone(phone)
    s, now = ctx.settings, ctx.clock.now()
    phone_hash = ctx.keyring.keyed_hash("phone", phone)
    client_hash = ctx.keyring.keyed_hash("client", client)
    code = f"{secrets.randbelow(10**6):06d}"
    async with write_transaction():
        await ratelimit.hit("otp_phone_minute", phone_hash, now, s.otp_per_phone_per_minute, timedelta(minutes=1))
        await ratelimit.hit("otp_phone_day", phone_hash, now, s.otp_per_phone_per_day, timedelta(days=1))
        await ratelimit.hit("otp_client", client_hash, now, s.otp_per_client_per_hour, timedelta(hours=1))
    minutes = str(max(1, s.otp_ttl_s // 60))
    try:
        sent = await ctx.sms.send(phone, "login", {"code": code, "minutes": minutes}, now)
    except (SmsRejected, SmsUnavailable) as exc:
        async with write_transaction():
            for kind, window in _OTP_LIMITS:
                await ratelimit.unhit(kind, phone_hash, now, window)
            await ratelimit.unhit("otp_client", client_hash, now, timedelta(hours=1))
        if isinstance(exc, SmsRejected):
            raise _sms_rejected(exc.reason) from None
        raise sms_unavailable(s.sms_retry_after_s) from None
    async with write_transaction():
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
        if sent.message_id:
            await queries.record_sms(sent.provider, sent.message_id, phone_hash, "login", now)
    return s.otp_ttl_s


async def _spend_otp(ctx: AppContext, phone: str, code: str) -> bool:
    """One counted try at the phone's newest code, inside the caller's transaction."""
    challenge = await queries.take_otp_try(
        ctx.keyring.keyed_hash("phone", phone), ctx.clock.now(), ctx.settings.otp_max_attempts
    )
    if challenge is None:
        return False
    expected = ctx.keyring.keyed_hash("otp", f"{phone}:{code.strip()}")
    return hmac.compare_digest(expected, challenge["code_hash"]) and await queries.spend_otp(challenge["id"])


async def _account_for(phone: str, phone_hash: str, now: datetime) -> Account:
    account = await Account.objects().where(Account.phone_hash == phone_hash).first()
    if account is None:
        account = Account(phone_hash=phone_hash, phone_masked=mask_phone(phone), created_at=now)
        await account.save()
    return account


async def login_with_otp(ctx: AppContext, phone: str, code: str) -> TokenPair:
    """One try at the phone's newest code: the try is counted by the statement that admits it."""
    phone = _check_phone(phone)
    now = ctx.clock.now()
    phone_hash = ctx.keyring.keyed_hash("phone", phone)
    async with write_transaction():
        ok = await _spend_otp(ctx, phone, code)
        if ok:
            account = await _account_for(phone, phone_hash, now)
            await record(now, f"account:{account.id}", "login", "account", account.id)
            pair = await _issue(ctx, subject=f"a{account.id}", role="member", facility_id=None)
    if not ok:  # the counted try commits with the transaction above
        raise _otp_invalid()
    return pair


def _staff_backoffs(ctx: AppContext) -> tuple[ratelimit.Backoff, ratelimit.Backoff]:
    s = ctx.settings
    per_pair = ratelimit.Backoff(
        free=s.staff_free_failures, base_s=s.staff_delay_base_s, max_s=s.staff_delay_max_s, forget_s=s.staff_forget_s
    )
    per_client = ratelimit.Backoff(
        free=s.staff_client_free_failures,
        base_s=s.staff_delay_base_s,
        max_s=s.staff_delay_max_s,
        forget_s=s.staff_forget_s,
    )
    return per_pair, per_client


def staff_throttle_keys(ctx: AppContext, username: str, client: str) -> tuple[str, str]:
    """(per username and client address, per client address) keys of the login back-off."""
    return (
        ctx.keyring.keyed_hash("staff_login", f"{username}\x1f{client}"),
        ctx.keyring.keyed_hash("client", client),
    )


async def staff_login(ctx: AppContext, username: str, password: str, client: str) -> TokenPair:
    """Password login with per-(username, address) and per-address back-off; no account is ever locked.

    The attempt is counted before the password is checked, so concurrent guesses are counted exactly and
    only the free ones are evaluated at once. A known and an unknown username take the same path: the same
    keys, the same argon2 work (against a dummy hash), the same audit write, the same answers.
    """
    now = ctx.clock.now()
    username = username.strip()
    per_pair, per_client = _staff_backoffs(ctx)
    pair_key, client_key = staff_throttle_keys(ctx, username, client)
    async with write_transaction():  # the address first, then the pair: one lock order for every caller
        await ratelimit.admit("staff_client", client_key, now, per_client, code="login_throttled")
        await ratelimit.admit("staff_login", pair_key, now, per_pair, code="login_throttled")
    staff = await queries.staff_by_username(username)
    stored = staff["password_hash"] if staff else None
    # argon2 in a worker thread: ~50 ms of CPU that other requests should not wait for.
    ok = await anyio.to_thread.run_sync(verify_password, stored, password) and bool(staff and staff["active"])
    done = ctx.clock.now()
    async with write_transaction():
        if ok:
            assert staff is not None
            await ratelimit.clear("staff_login", pair_key)
            await ratelimit.refund("staff_client", client_key)
            await record(now, f"staff:{staff['id']}", "staff_login", "staff", staff["id"])
            pair = await _issue(ctx, subject=f"s{staff['id']}", role=staff["role"], facility_id=staff["facility"])
        else:
            await ratelimit.hold("staff_client", client_key, done, per_client)
            await ratelimit.hold("staff_login", pair_key, done, per_pair)
            if staff is not None:
                await record(now, f"staff:{staff['id']}", "staff_login_failed", "staff", staff["id"])
            else:
                await record(now, "anonymous", "staff_login_failed", "staff_username", pair_key[:16])
    if not ok:
        raise _login_failed()
    return pair


async def _issue(
    ctx: AppContext, *, subject: str, role: str, facility_id: int | None, session: str | None = None
) -> TokenPair:
    """A token pair; a new login (``session`` None) opens a session, a refresh continues its own."""
    s, now = ctx.settings, ctx.clock.now()
    if session is None:
        session = secrets.token_hex(16)
        await AuthSession.insert(AuthSession(sid=session, subject=subject, created_at=now)).run()
    refresh = secrets.token_urlsafe(32)
    await RefreshToken.insert(
        RefreshToken(
            token_hash=_sha(refresh),
            family=session,
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
        session=session,
    )
    bearer = "Bearer"
    return TokenPair(
        access_token=token, refresh_token=refresh, token_type=bearer, expires_in=s.access_token_ttl_s, role=role
    )


def _refresh_invalid() -> DomainError:
    return DomainError("refresh_invalid", "登录已失效，请重新登录", "The refresh token is not valid.")


async def refresh(ctx: AppContext, token: str) -> TokenPair:
    """Rotate: one statement spends the token, so of N concurrent uses exactly one wins; any other use of a
    spent token is a replay and ends the session (its refresh and access tokens)."""
    now = ctx.clock.now()
    token_hash = _sha(token)
    reused = None
    async with write_transaction():
        won = await queries.spend_refresh(token_hash, now)
        if won is not None:
            pair = await _issue(
                ctx, subject=won["subject"], role=won["role"], facility_id=won["facility_id"], session=won["family"]
            )
        else:
            row = await queries.refresh_row(token_hash)
            if row is None or row["revoked"] or row["used_at"] is None:  # unknown, ended or expired
                raise _refresh_invalid()
            await queries.end_session(row["family"], "refresh_reuse", now)
            await record(now, row["subject"], "refresh_reuse_revoked_family", "token_family", row["family"])
            reused = row["family"]
    if reused is not None:
        ctx.caches.sessions.pop(reused, None)
        raise DomainError(
            "refresh_reused",
            "登录凭据已被使用，请重新登录",
            "This refresh token was already used; all sessions of this login are revoked.",
        )
    return pair


async def logout(ctx: AppContext, token: str, principal: Principal) -> None:
    """End the session of this refresh token if it is the caller's: its access tokens stop working too."""
    subject = f"a{principal.account_id}" if principal.role == "member" else f"s{principal.staff_id}"
    now = ctx.clock.now()
    async with write_transaction():
        row = await queries.refresh_row(_sha(token))
        if row is None or row["subject"] != subject:
            return
        await queries.end_session(row["family"], "logout", now)
        await record(now, subject, "logout", "token_family", row["family"])
    ctx.caches.sessions.pop(row["family"], None)


async def session_open(ctx: AppContext, sid: str) -> bool:
    """Whether the session is still open, as this worker last saw it (at most ``SESSION_CHECK_TTL_S`` ago)."""
    cached = ctx.caches.sessions.get(sid)
    if cached is None:
        cached = ctx.caches.sessions[sid] = await queries.session_open(sid)
    return cached


async def actor_names(actors: list[str]) -> dict[str, str]:
    """{actor as audited ("staff:7", "cli:ops"): the name a person reads}: a staff member's name, the command
    line's user, the system. Pages show these, never the raw actor."""
    ids = sorted({int(a[6:]) for a in actors if a.startswith("staff:") and a[6:].isdigit()})
    names = await queries.staff_names(ids)
    found: dict[str, str] = {}
    for a in actors:
        if a.startswith("staff:") and a[6:].isdigit():
            found[a] = names.get(int(a[6:]), "已停用账号")
        elif a.startswith("cli:"):
            found[a] = f"命令行（{a[4:]}）"
        else:
            found[a] = "系统" if a in ("", "system") else a
    return found


def _wechat_unavailable(ctx: AppContext) -> DomainError:
    retry = ctx.settings.sms_retry_after_s
    return DomainError(
        "wechat_unavailable",
        "微信服务暂时不可用，请稍后再试或使用短信验证码登录",
        "WeChat is unavailable; try again shortly or log in with an SMS code.",
        headers={"Retry-After": str(retry)},
        extra={"retry_after_s": retry},
    )


def _wechat_code_invalid() -> DomainError:
    return DomainError(
        "wechat_code_invalid", "微信登录凭证无效或已使用，请重试", "The wx.login code is invalid or used."
    )


async def wechat_access_token(ctx: AppContext, *, stale: str | None = None) -> str:
    """The app's access token, shared by all workers through the database: fetched when missing, near its
    expiry, or when a caller found ``stale`` refused (WeChat errcode 40001/42001)."""
    now = ctx.clock.now()
    app_id = ctx.wechat.app_id
    row = await queries.wechat_token(app_id)
    if row and row["access_token"] != stale and _aware(row["expires_at"]) > now + timedelta(minutes=5):
        return str(row["access_token"])
    token = await ctx.wechat.fetch_token()
    async with write_transaction():
        await queries.store_wechat_token(app_id, token.access_token, now + timedelta(seconds=token.expires_in), now)
    return token.access_token


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _wechat_phone(ctx: AppContext, phone_code: str) -> str:
    token = await wechat_access_token(ctx)
    try:
        return await ctx.wechat.phone_number(token, phone_code)
    except WechatError as exc:
        if exc.errcode not in wechat.TOKEN_INVALID:
            raise
    return await ctx.wechat.phone_number(await wechat_access_token(ctx, stale=token), phone_code)


async def wechat_login(
    ctx: AppContext,
    code: str,
    client: str,
    *,
    phone_code: str | None = None,
    phone: str | None = None,
    sms_code: str | None = None,
) -> TokenPair:
    """Log in with a ``wx.login`` code. A WeChat user not linked yet proves a phone once, by WeChat's
    phone-number grant (``phone_code``) or an SMS code, and is linked to that phone's account."""
    if not ctx.wechat.configured:  # this deployment has no mini-program
        raise DomainError("wechat_not_configured", "未开通微信登录", "WeChat login is not configured here.")
    s, now = ctx.settings, ctx.clock.now()
    client_hash = ctx.keyring.keyed_hash("client", client)
    async with write_transaction():
        await ratelimit.hit("wechat_client", client_hash, now, s.wechat_logins_per_client_per_hour, timedelta(hours=1))
    try:
        session = await ctx.wechat.code2session(code)
        identity = await queries.wechat_identity(session.openid)
        proof = None
        if identity is None and phone_code:
            phone, proof = _check_phone(await _wechat_phone(ctx, phone_code)), "wechat_phone"
    except WechatError as exc:
        if exc.errcode in (wechat.INVALID_CODE, wechat.CODE_USED):
            raise _wechat_code_invalid() from None
        if exc.errcode == wechat.RATE_LIMITED:
            raise ratelimit.too_many(60) from None
        raise _wechat_unavailable(ctx) from None
    except WechatUnavailable:
        raise _wechat_unavailable(ctx) from None
    async with write_transaction():
        if identity is not None:
            account_id = int(identity["account"])
            await record(now, f"account:{account_id}", "wechat_login", "account", account_id)
            return await _issue(ctx, subject=f"a{account_id}", role="member", facility_id=None)
        if proof is None and phone and sms_code:
            phone = _check_phone(phone)
            if await _spend_otp(ctx, phone, sms_code):
                proof = "sms"
        if proof is not None and phone:
            account = await _account_for(phone, ctx.keyring.keyed_hash("phone", phone), now)
            linked = await queries.link_wechat(
                ctx.wechat.app_id, session.openid, session.unionid, int(account.id), proof, now
            )
            if linked:
                await record(now, f"account:{account.id}", "wechat_link", "account", account.id)
                return await _issue(ctx, subject=f"a{account.id}", role="member", facility_id=None)
    if proof is not None:
        raise DomainError(
            "wechat_already_linked",
            "该手机号已绑定另一个微信，请先在原微信中解除绑定",
            "This phone account is linked to another WeChat user; unlink it there first.",
        )
    if sms_code:
        raise _otp_invalid()
    raise DomainError(
        "wechat_not_linked",
        "首次使用微信登录，请验证手机号",
        "First WeChat login: prove your phone (WeChat's phone-number button or an SMS code).",
    )


async def wechat_unlink(ctx: AppContext, principal: Principal) -> bool:
    """The resident ends the link of their WeChat user to their phone account (WeChat login stops working)."""
    now = ctx.clock.now()
    async with write_transaction():
        removed = await queries.unlink_wechat(principal.account_id)
        if removed:
            await record(now, f"account:{principal.account_id}", "wechat_unlink", "account", principal.account_id)
    return removed


async def wechat_linked(principal: Principal) -> bool:
    return await queries.wechat_identity_of(principal.account_id) is not None


async def openids_of_members(member_ids: list[int]) -> dict[int, str]:
    """For the notices area's subscription messages: the openid of each member's linked WeChat user."""
    return await queries.openids_of_members(member_ids)


async def sms_receipts(provider: str, receipts: list[tuple[str, bool, str, datetime]]) -> int:
    """Delivery receipts pushed by a provider: (message id, delivered, provider code, when)."""
    changed = 0
    async with write_transaction():
        for message_id, delivered, code, at in receipts:
            status = "delivered" if delivered else "failed"
            changed += await queries.sms_receipt(provider, message_id, status, code, at)
    return changed


async def sms_status(provider: str, message_id: str) -> str | None:
    return await queries.sms_status(provider, message_id)
