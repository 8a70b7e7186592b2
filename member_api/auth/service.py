"""Login by SMS code, staff login, sessions and rotating refresh tokens whose reuse ends the session.

Every limit and single-use object here is decided by one statement or a locked row inside the transaction
(see ``core.ratelimit`` and ``auth.queries``), so concurrent requests on any number of workers and
databases cannot slip past it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import anyio

from member_api.audit.service import record
from member_api.auth import queries
from member_api.auth.passwords import verify_password
from member_api.auth.schemas import TokenPair
from member_api.auth.tables import AuthSession, OtpChallenge, RefreshToken
from member_api.auth.tokens import access_token
from member_api.core import ratelimit
from member_api.core.context import AppContext
from member_api.core.errors import ApiError, invalid_field
from member_api.core.principal import Principal
from member_api.db import write_transaction
from member_api.members.identity import mask_phone, valid_phone
from member_api.members.tables import Account


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _otp_invalid() -> ApiError:
    return ApiError("otp_invalid", 401, "验证码错误或已失效", "The code is wrong or has expired.")


def _login_failed() -> ApiError:
    return ApiError("login_failed", 401, "用户名或密码错误", "Wrong username or password.")


def _check_phone(phone: str) -> str:
    phone = phone.strip()
    if not valid_phone(phone):
        raise invalid_field(
            "phone", "请输入正确的 11 位手机号", "must be an 11-digit mainland mobile number", code="invalid_phone"
        )
    return phone


async def send_otp(ctx: AppContext, phone: str, client: str) -> int:
    """Send a code unless a limit says no. The answer is the same for known and unknown phones.

    The three limits are counted in one transaction: if any refuses, none of the others is spent.
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
    """One try at the phone's newest code: the try is counted by the statement that admits it."""
    phone = _check_phone(phone)
    now = ctx.clock.now()
    phone_hash = ctx.keyring.keyed_hash("phone", phone)
    async with write_transaction():
        challenge = await queries.take_otp_try(phone_hash, now, ctx.settings.otp_max_attempts)
        ok = False
        if challenge is not None:
            expected = ctx.keyring.keyed_hash("otp", f"{phone}:{code.strip()}")
            ok = hmac.compare_digest(expected, challenge["code_hash"]) and await queries.spend_otp(challenge["id"])
        if ok:
            account = await Account.objects().where(Account.phone_hash == phone_hash).first()
            if account is None:
                account = Account(phone_hash=phone_hash, phone_masked=mask_phone(phone), created_at=now)
                await account.save()
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


def _refresh_invalid() -> ApiError:
    return ApiError("refresh_invalid", 401, "登录已失效，请重新登录", "The refresh token is not valid.")


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
        raise ApiError(
            "refresh_reused",
            401,
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
