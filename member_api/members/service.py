"""Binding a phone account to its registry record (by phone possession, or in person at a counter);
reading the member and their dependants."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from member_api.audit.service import record
from member_api.core import ratelimit
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, FieldError, invalid_field
from member_api.core.principal import Principal
from member_api.db import UniqueViolation, fetch, fetch_one, write_transaction
from member_api.members import queries
from member_api.members.identity import id_problem, mask_name, normalise_id
from member_api.members.schemas import (
    BindingCode,
    ContributionStatus,
    CounterBinding,
    EnrollmentView,
    MemberView,
    MeView,
    PaymentEventIn,
    PaymentEventResult,
)
from member_api.members.tables import Enrollment, Member, PaymentEvent
from member_api.policy import parameters
from member_api.policy.contribution import contribution_window, covered_from
from member_api.policy.eligibility import EnrollmentFacts, is_eligible


async def wards_of(member_id: int) -> list[MemberView]:
    """The members in ``member_id``'s guardianship (newborns, minors), oldest record first."""
    return await _views(await queries.members_where_guardian(member_id))


async def members_by_id(member_ids: list[int]) -> list[MemberView]:
    """Registry records as shown to their holder (masked ID number, no phone), by id, in id order."""
    return await _views(await queries.members_by_id(member_ids))


async def _views(members: list[dict[str, Any]]) -> list[MemberView]:
    if not members:
        return []
    enrollments = await queries.enrollments_of([m["id"] for m in members])
    return [
        MemberView(
            id=m["id"],
            insurance_no=m["insurance_no"],
            name=m["name"],
            id_number_masked=m["id_masked"],
            birth_date=m["birth_date"],
            sex=m["sex"],
            division=m["division"],
            enrollments=[
                EnrollmentView(year=e["year"], paid_up=e["paid_up"], enrolled_on=e["enrolled_on"])
                for e in enrollments
                if e["member"] == m["id"]
            ],
        )
        for m in members
    ]


async def member_facts(member_id: int) -> dict[str, Any] | None:
    """What other areas' rules need of a record: id, division, birth_date, guardian (None if unknown)."""
    return await queries.member_facts(member_id)


async def member_id_by_id_hash(id_hash: str) -> int | None:
    """The record an ID number's keyed hash names (the hash is made by the caller's keyring), or None."""
    return await queries.member_id_by_id_hash(id_hash)


async def first_enrollment(member_id: int) -> dict[str, Any] | None:
    """The member's earliest enrollment (R5: when a newborn was enrolled), or None."""
    return await queries.first_enrollment(member_id)


async def member_view(member_id: int) -> MemberView | None:
    """One registry record as shown to its holder (masked ID number, no phone), or None."""
    views = await members_by_id([member_id])
    return views[0] if views else None


async def member_by_insurance_no(insurance_no: str) -> MemberView | None:
    """The registry record with this insurance number (the facility interface's ``psn_no``), or None."""
    return next(iter(await _views(await queries.members_by_insurance_no(insurance_no))), None)


async def me(principal: Principal) -> MeView:
    account = await queries.account_row(principal.account_id)
    if account is None:
        raise DomainError("unauthorized", "登录已失效，请重新登录", "The account no longer exists.")
    views = await members_by_id([account["member"]]) if account["member"] else []
    return MeView(
        phone_masked=account["phone_masked"],
        bound=bool(views),
        member=views[0] if views else None,
        unbound_reason=None if views else account["unbound_reason"],
    )


DAY, HOUR = timedelta(days=1), timedelta(hours=1)
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread
CODE_LENGTH = 8  # 40 bits, alive 10 minutes, single use, entered only by a logged-in clerk


def _normalise_code(code: str) -> str:
    code = code.strip().upper().replace("-", "").replace(" ", "")
    return code.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))


def _code_hash(ctx: AppContext, code: str) -> str:
    return ctx.keyring.keyed_hash("binding_code", _normalise_code(code))


def _check_id(id_number: str) -> str:
    problem = id_problem(id_number)
    if problem:
        raise invalid_field("id_number", "身份证号码有误，请核对", problem, code="invalid_id_number")
    return normalise_id(id_number)


def _member_not_found() -> DomainError:
    return DomainError(
        "member_not_found",
        "未找到与身份证号和姓名相符的参保信息",
        "No insurance record matches this ID number and name.",
    )


def _account_already_bound() -> DomainError:
    return DomainError(
        "account_already_bound",
        "该手机号已绑定其他参保人",
        "This phone is already bound to another insurance record.",
    )


def _already_bound() -> DomainError:
    return DomainError(
        "already_bound",
        "该参保信息已被其他手机号绑定，请携带身份证到经办机构或定点医疗机构柜台办理",
        "This record is bound to another phone; bind it at a counter with your ID card.",
    )


async def _issue_code(ctx: AppContext, account_id: int) -> BindingCode:
    now = ctx.clock.now()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + timedelta(seconds=ctx.settings.binding_code_ttl_s)
    await queries.new_binding_code(account_id, _code_hash(ctx, code), expires_at, now)
    return BindingCode(binding_code=f"{code[:4]}-{code[4:]}", expires_at=expires_at)


async def binding_code(ctx: AppContext, principal: Principal) -> BindingCode:
    """A fresh code for binding at a counter (the earlier one stops working)."""
    assert principal.account_id is not None
    now = ctx.clock.now()
    key = ctx.keyring.keyed_hash("bind", str(principal.account_id))
    async with write_transaction():
        await ratelimit.hit("binding_code", key, now, ctx.settings.binding_codes_per_hour, HOUR)
        account = await queries.account(principal.account_id)
        if account is None:
            raise DomainError("unauthorized", "登录已失效，请重新登录", "The account no longer exists.")
        if account["member"] is not None:
            raise _account_already_bound()
        return await _issue_code(ctx, principal.account_id)


async def bind(ctx: AppContext, principal: Principal, id_number: str, name: str) -> MeView:
    """Self-service binding: only when the registry's phone on file is the phone this account logged in with.

    Every attempt is counted before it is evaluated (``binding_failures_per_day`` a day per account), so a
    burst of concurrent guesses gets at most that many answers and 429 for the rest. When the phone on file is
    another one or none, the answer is 403 ``binding_needs_verification`` with a binding code for a counter,
    whatever the name: the reply tells a stranger nothing about the record.
    """
    assert principal.account_id is not None
    id_number = _check_id(id_number)
    now = ctx.clock.now()
    key = ctx.keyring.keyed_hash("bind", str(principal.account_id))
    async with write_transaction():  # committed on its own: the attempt counts whatever follows
        await ratelimit.hit("bind_attempt", key, now, ctx.settings.binding_failures_per_day, DAY, "binding_locked")
    refusal: DomainError | None = None
    async with write_transaction():
        account = await queries.account(principal.account_id)
        member = await queries.member_by_id_hash(ctx.keyring.keyed_hash("id", id_number))
        if account is None:
            raise DomainError("unauthorized", "登录已失效，请重新登录", "The account no longer exists.")
        if member is None:
            raise _member_not_found()
        if account["member"] not in (None, member["id"]):
            raise _account_already_bound()
        if member["phone_hash"] is None or not hmac.compare_digest(member["phone_hash"], account["phone_hash"]):
            code = await _issue_code(ctx, principal.account_id)  # kept: the refusal is raised after commit
            await record(now, principal.actor, "binding_needs_verification", "account", principal.account_id)
            refusal = DomainError(
                "binding_needs_verification",
                "您登录的手机号与参保登记的手机号不一致，请携带身份证到经办机构或定点医疗机构柜台，"
                "出示此绑定码办理绑定",
                "This phone is not the one on file for the record. Bind at a counter: show this binding code "
                "and your ID card.",
                extra={"binding_code": code.binding_code, "binding_code_expires_at": code.expires_at.isoformat()},
            )
        elif member["name"] != name.strip():
            raise _member_not_found()
        elif account["member"] is None:
            try:
                await queries.bind(principal.account_id, member["id"])
            except UniqueViolation:
                raise _already_bound() from None
            await record(now, principal.actor, "bind", "member", member["id"])
    if refusal is not None:
        raise refusal
    return await me(principal)


async def bind_at_counter(ctx: AppContext, staff: Principal, code: str, id_number: str) -> CounterBinding:
    """A clerk (or agency reviewer) who checked the ID card binds the phone account that showed ``code``.

    The code is spent by the statement that finds it; a record bound to another phone is moved to this one
    (the other account is unbound and told why); audited with the staff member and the facility.
    """
    id_number = _check_id(id_number)
    normalised = _normalise_code(code)
    if len(normalised) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in normalised):
        raise invalid_field("binding_code", "绑定码格式有误", "must be the 8-character code shown in the app")
    now = ctx.clock.now()
    async with write_transaction():  # committed on its own: the attempt counts whatever follows
        await ratelimit.hit(
            "counter_bind",
            ctx.keyring.keyed_hash("staff", str(staff.staff_id)),
            now,
            ctx.settings.counter_bindings_per_hour,
            HOUR,
        )
    async with write_transaction():
        member = await queries.member_by_id_hash(ctx.keyring.keyed_hash("id", id_number))
        if member is None:
            raise DomainError("member_not_found", "未找到该参保人", "No member with this ID number.")
        account_id = await queries.spend_binding_code(_code_hash(ctx, normalised), staff.actor, now)
        if account_id is None:
            raise DomainError(
                "binding_code_invalid",
                "绑定码错误、已使用或已过期，请让参保人在手机上重新获取",
                "The binding code is wrong, used or expired; ask the resident for a new one.",
                errors=[FieldError(field="binding_code", message="wrong, used or expired")],
            )
        account = await queries.account(account_id)
        assert account is not None
        if account["member"] not in (None, member["id"]):
            raise _account_already_bound()
        replaced = await queries.unbind_others(member["id"], account_id, "rebound_at_counter", now)
        try:
            await queries.bind(account_id, member["id"])
        except UniqueViolation:  # another counter bound the record to another phone this very moment
            raise _already_bound() from None
        await record(
            now,
            staff.actor,
            "counter_bind",
            "member",
            member["id"],
            {"account": account_id, "facility": staff.facility_id, "unbound_accounts": replaced},
        )
    return CounterBinding(
        member_id=member["id"],
        name_masked=mask_name(member["name"]),
        id_number_masked=member["id_masked"],
        phone_masked=account["phone_masked"],
        bound_at=now,
        replaced_binding=bool(replaced),
    )


async def unbind_changed_phones(changes: list[tuple[int, str | None]], now: datetime) -> int:
    """After a registry import: for each (member, new phone hash) whose phone changed, unbind the accounts
    whose phone is not the new one (``registry_phone_changed``, shown on their next ``/v1/me``)."""
    unbound = 0
    for member_id, phone_hash in changes:
        ids = await queries.unbind_unless_phone(member_id, phone_hash, "registry_phone_changed", now)
        for account_id in ids:
            await record(now, "import", "unbind_phone_changed", "account", account_id, {"member": member_id})
        unbound += len(ids)
    return unbound


async def enrollment(member_id: int, year: int) -> EnrollmentFacts | None:
    """The member's enrollment for the year, or None: what R1 decides on."""
    row = await fetch_one(
        "SELECT paid_up, enrolled_on FROM enrollment WHERE member = {} AND year = {}", member_id, year
    )
    return EnrollmentFacts(paid_up=bool(row["paid_up"]), enrolled_on=row["enrolled_on"]) if row else None


async def eligibility(member_id: int, day: date, *, newborn_before_enrollment: bool = False) -> bool:
    """R1 for care on ``day``, decided by the one policy function."""
    facts = await enrollment(member_id, day.year)
    return is_eligible(facts, day, newborn_before_enrollment=newborn_before_enrollment)


async def insurance_numbers(member_ids: list[int]) -> dict[int, str]:
    """{member id: insurance number} for these members (lists that show ``psn_no`` beside a settlement)."""
    if not member_ids:
        return {}
    rows = await Member.select(Member.id, Member.insurance_no).where(Member.id.is_in(sorted(set(member_ids))))
    return {r["id"]: r["insurance_no"] for r in rows}


# ---- 参保缴费: contribution status and payment events ---------------------------------------------------------------


def payment_system(ctx: AppContext, authorization: str) -> str:
    """The payment system's actor (``system:payments:<hash prefix>``) for a configured bearer secret, else 401."""
    scheme, _, secret = authorization.partition(" ")
    digest = hashlib.sha256(secret.strip().encode()).hexdigest() if secret.strip() else ""
    known = [h.strip().lower() for h in ctx.settings.payment_credential_hashes.split(",") if h.strip()]
    if scheme.lower() != "bearer" or not digest or not any(hmac.compare_digest(digest, h) for h in known):
        raise DomainError(
            "unauthorized",
            "缴费系统凭据无效",
            "A payment system credential is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return f"system:payments:{digest[:8]}"


async def record_payment(ctx: AppContext, actor: str, event: PaymentEventIn) -> PaymentEventResult:
    """R1 at once: the member is paid up for the year (enrolled from the year's first day, or from the payment day
    when paid during the year); one event id is applied once; audited with the payment system as actor."""
    now = ctx.clock.now()
    member = await Member.select(Member.id).where(Member.insurance_no == event.insurance_no).first()
    if member is None:
        raise invalid_field("insurance_no", "未找到该参保编号", "no such member", code="member_not_found")
    start = covered_from(event.year, event.paid_on)
    try:
        async with write_transaction():
            await fetch(  # the unique event id decides, in one statement, whether this payment is new
                "INSERT INTO payment_event (event_id, member, year, amount_fen, paid_on, channel, received_at,"
                " received_by) VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
                event.event_id,
                member["id"],
                event.year,
                event.amount_fen,
                event.paid_on,
                event.channel,
                now,
                actor,
            )
            row = (
                await Enrollment.select(Enrollment.id, Enrollment.enrolled_on)
                .where((Enrollment.member == member["id"]) & (Enrollment.year == event.year))
                .first()
            )
            if row is None:
                await Enrollment.insert(
                    Enrollment(member=member["id"], year=event.year, paid_up=True, enrolled_on=start)
                ).run()
            else:
                start = row["enrolled_on"]
                await Enrollment.update({Enrollment.paid_up: True}).where(Enrollment.id == row["id"])
            await record(
                now,
                actor,
                "contribution_paid",
                "member",
                member["id"],
                {"year": event.year, "event": event.event_id, "amount_fen": event.amount_fen},
            )
    except UniqueViolation:
        seen = await PaymentEvent.select().where(PaymentEvent.event_id == event.event_id).first()
        if seen is None or (seen["member"], seen["year"], seen["amount_fen"]) != (
            member["id"],
            event.year,
            event.amount_fen,
        ):
            raise DomainError(
                "payment_event_conflict",
                "该缴费流水号已用于另一笔缴费",
                "This event id was received with other content.",
            ) from None
        facts = await enrollment(member["id"], event.year)
        return PaymentEventResult(
            event_id=event.event_id,
            member_id=member["id"],
            year=event.year,
            paid_up=bool(facts and facts.paid_up),
            covered_from=facts.enrolled_on if facts else start,
            duplicate=True,
        )
    ctx.caches.eligibility.clear()  # this worker answers at once; the others within their cache's short life
    return PaymentEventResult(
        event_id=event.event_id,
        member_id=member["id"],
        year=event.year,
        paid_up=True,
        covered_from=start,
        duplicate=False,
    )


async def contribution_status(ctx: AppContext, member_id: int) -> ContributionStatus:
    today = local_today(ctx.clock)
    this_year, next_year = await enrollment(member_id, today.year), await enrollment(member_id, today.year + 1)
    try:
        params = parameters.for_year(today.year + 1)
    except parameters.NoPolicyYear:
        params = parameters.for_year(today.year)
        opens, closes = contribution_window(params)
        opens, closes = opens.replace(year=today.year), closes.replace(year=today.year)
    else:
        opens, closes = contribution_window(params)
    return ContributionStatus(
        year=today.year,
        paid_this_year=bool(this_year and this_year.paid_up),
        next_year=today.year + 1,
        paid_next_year=bool(next_year and next_year.paid_up),
        window_opens=opens,
        window_closes=closes,
        window_open_now=opens <= today <= closes,
        payment_url=ctx.settings.payment_channel_url,
    )
