"""Binding a phone account to its registry record; reading the member and their dependants."""

from __future__ import annotations

from datetime import date, timedelta

from piccolo.columns.combination import Where

from member_api.audit.service import record
from member_api.core import ratelimit
from member_api.core.context import AppContext
from member_api.core.errors import ApiError, invalid_field
from member_api.core.principal import Principal
from member_api.db import fetch_one, write_transaction
from member_api.members.identity import id_problem, normalise_id
from member_api.members.schemas import EnrollmentView, MemberView, MeView
from member_api.members.tables import Account, Enrollment, Member
from member_api.policy.eligibility import EnrollmentFacts, is_eligible


async def member_views(where: Where) -> list[MemberView]:
    members = await Member.select().where(where).order_by(Member.id)
    if not members:
        return []
    enrollments = (
        await Enrollment.select().where(Enrollment.member.is_in([m["id"] for m in members])).order_by(Enrollment.year)
    )
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


async def member_view(member_id: int) -> MemberView | None:
    """One registry record as shown to its holder (masked ID number, no phone), or None."""
    views = await member_views(Member.id == member_id)
    return views[0] if views else None


async def me(principal: Principal) -> MeView:
    account = await Account.select().where(Account.id == principal.account_id).first()
    if account is None:
        raise ApiError("unauthorized", 401, "登录已失效，请重新登录", "The account no longer exists.")
    views = await member_views(Member.id == account["member"]) if account["member"] else []
    return MeView(phone_masked=account["phone_masked"], bound=bool(views), member=views[0] if views else None)


async def bind(ctx: AppContext, principal: Principal, id_number: str, name: str) -> MeView:
    """Link the account to the record with this ID number and name; 5 failures a day lock binding."""
    problem = id_problem(id_number)
    if problem:
        raise invalid_field("id_number", "身份证号码有误，请核对", problem, code="invalid_id_number")
    now, key = ctx.clock.now(), ctx.keyring.keyed_hash("bind", str(principal.account_id))
    day = timedelta(days=1)
    if await ratelimit.count_since("bind_fail", key, now - day) >= ctx.settings.binding_failures_per_day:
        raise ratelimit.too_many(int(day.total_seconds()), code="binding_locked")
    id_hash = ctx.keyring.keyed_hash("id", normalise_id(id_number))
    async with write_transaction():
        member = await Member.select(Member.id, Member.name).where(Member.id_hash == id_hash).first()
        if member is None or member["name"] != name.strip():
            await ratelimit.hit("bind_fail", key, now)
            failed = True
        else:
            failed = False
            own = await Account.select(Account.member).where(Account.id == principal.account_id).first()
            if own and own["member"] not in (None, member["id"]):
                raise ApiError(
                    "account_already_bound",
                    409,
                    "该手机号已绑定其他参保人",
                    "This phone is already bound to another insurance record.",
                )
            holder = await Account.select(Account.id).where(Account.member == member["id"]).first()
            if holder and holder["id"] != principal.account_id:
                raise ApiError(
                    "already_bound",
                    409,
                    "该参保信息已被其他手机号绑定，请到经办机构办理",
                    "This record is bound to another phone; visit the agency.",
                )
            await Account.update({Account.member: member["id"]}).where(Account.id == principal.account_id)
            await record(now, principal.actor, "bind", "member", member["id"])
    if failed:
        raise ApiError(
            "member_not_found",
            404,
            "未找到与身份证号和姓名相符的参保信息",
            "No insurance record matches this ID number and name.",
        )
    return await me(principal)


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
