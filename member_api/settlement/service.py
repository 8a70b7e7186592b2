"""Counter verification, settlement and reversal (R4, R8, R11): the policy engine decides, the ledger records."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from member_api.audit.service import record
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import ApiError, invalid_field, not_found
from member_api.core.idempotency import Claim
from member_api.core.principal import Principal
from member_api.credential.identify import identify_member
from member_api.db import UniqueViolation, retry_transient, write_transaction
from member_api.facilities.designation import designation_on
from member_api.facilities.queries import facility_row
from member_api.ledger import service as ledger
from member_api.members.identity import mask_name
from member_api.members.service import eligibility
from member_api.policy import parameters
from member_api.policy.reimbursement import Bill, Coverage, FacilityFacts, reimburse, remaining_caps
from member_api.referrals.service import referral_for
from member_api.settlement.schemas import SettlementRequest, SettlementResult, VerifyRequest, VerifyResult


def _params(day: date) -> parameters.PolicyYear:
    try:
        return parameters.for_date(day)
    except parameters.NoPolicyYear:
        raise invalid_field(
            "visit_date", "该日期不在任何医保年度参数范围内", "No policy year covers this date.", code="no_policy_year"
        ) from None


def _credential_used() -> ApiError:
    return ApiError("credential_used", 409, "该二维码已使用，请刷新后重新出示", "This e-credential was already used.")


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


async def verify(ctx: AppContext, clerk: Principal, req: VerifyRequest) -> VerifyResult:
    """Who the member is and what they may get here today; writes only the audit line."""
    member, jti = await identify_member(ctx, req.credential, req.id_number)
    if await ledger.credential_used(jti):
        raise _credential_used()
    today = local_today(ctx.clock)
    params = _params(today)
    eligible = await eligibility(member["id"], today)
    designation = await designation_on(member["id"], today)
    annual, ooc = remaining_caps(params, await ledger.state(member["id"], params.year))
    await record(ctx.clock.now(), clerk.actor, "counter_verify", "member", member["id"])
    return VerifyResult(
        member_ref=member["credential_subject"],
        name_masked=mask_name(member["name"]),
        id_number_masked=member["id_masked"],
        age=_age(member["birth_date"], today),
        year=params.year,
        eligible=eligible,
        designated_here=bool(designation and clerk.facility_id in (designation["institution"], designation["station"])),
        designated_institution_id=designation["institution"] if designation else None,
        remaining_fen=annual,
        remaining_out_of_city_fen=ooc,
    )


def _result(row: dict[str, Any], facility_name: str, annual: int, ooc: int) -> SettlementResult:
    base = ledger.view(row, facility_name)
    return SettlementResult(**msgspec.structs.asdict(base), remaining_fen=annual, remaining_out_of_city_fen=ooc)


async def settle(ctx: AppContext, clerk: Principal, req: SettlementRequest, claim: Claim) -> SettlementResult:
    """Verify, compute with the policy engine, and commit movement + account + audit + idempotency at once.

    Every read shares the write transaction's connection: one pool checkout per settlement.
    """
    today = local_today(ctx.clock)
    if req.visit_date > today:
        raise invalid_field("visit_date", "就诊日期不能晚于今天", "visit_date is in the future.")
    params = _params(req.visit_date)
    if params.year != _params(today).year:
        raise invalid_field(
            "visit_date",
            "只能结算本医保年度的就诊",
            "Only visits of the current policy year settle here.",
            code="visit_outside_policy_year",
        )
    assert clerk.facility_id is not None
    bill = Bill(
        general_fee_fen=req.general_fee_fen, compliant_fen=req.compliant_fen, non_compliant_fen=req.non_compliant_fen
    )

    async def transaction() -> SettlementResult:
        now = ctx.clock.now()
        async with write_transaction():
            member, jti = await identify_member(ctx, req.credential, req.id_number)
            if await ledger.credential_used(jti):
                raise _credential_used()
            facility = await facility_row(clerk.facility_id)
            referral = None
            if req.referral_id is not None:
                referral = await referral_for(member["id"], req.referral_id, facility["id"], req.visit_date)
                if referral is None:
                    raise invalid_field(
                        "referral_id",
                        "没有适用于本次就诊的转诊记录",
                        "No approved referral of this member to this facility covers the visit date.",
                        code="referral_not_found",
                    )
            eligible = await eligibility(member["id"], req.visit_date)
            designation = await designation_on(member["id"], req.visit_date)
            designated = bool(designation and facility["id"] in (designation["institution"], designation["station"]))
            facts = FacilityFacts(kind=facility["kind"], tier=facility["tier"], in_city=facility["in_city"])
            coverage = Coverage(
                eligible=eligible,
                designated=designated,
                emergency=req.emergency,
                referral_approved=referral is not None,
            )
            entry = ledger.Entry(
                member=member["id"],
                facility=facility["id"],
                kind=ledger.COUNTER,
                year=params.year,
                visit_date=req.visit_date,
                bill=bill,
                clerk_id=clerk.staff_id,
                emergency=req.emergency,
                referral_id=req.referral_id,
                credential_jti=jti,
            )
            posted, result = await ledger.post(
                entry, now, lambda state: reimburse(params, facts, coverage, bill, state)
            )
            annual, ooc = result.remaining_after(params, posted.before)
            view = _result(posted.movement, facility["name"], annual, ooc)
            await record(
                now,
                clerk.actor,
                "settlement",
                "settlement",
                view.id,
                {"fund_fen": view.fund_fen, "member_fen": view.member_fen, "repeat_same_day": view.repeat_same_day},
            )
            await claim.complete(201, msgspec.json.encode(view), now)
        return view

    try:
        return await retry_transient(transaction)
    except UniqueViolation as exc:
        raise _credential_used() from exc  # a concurrent settlement consumed the same jti first


async def reverse(ctx: AppContext, clerk: Principal, settlement_id: int, reason: str, claim: Claim) -> SettlementResult:
    """A counter settlement is undone by a new negative row that restores the cap; the original stays (R11)."""

    async def transaction() -> SettlementResult:
        now, today = ctx.clock.now(), local_today(ctx.clock)
        async with write_transaction():
            original = await ledger.movement(settlement_id)
            if original is None or original["facility"] != clerk.facility_id or original["kind"] != ledger.COUNTER:
                raise not_found("结算记录", "settlement")
            if original["year"] != _params(today).year:
                raise ApiError(
                    "reversal_outside_policy_year",
                    422,
                    "只能冲正本医保年度的结算",
                    "Only settlements of the current policy year can be reversed.",
                )
            posted = await ledger.reverse(original, clerk.staff_id, reason, now)
            annual, ooc_left = remaining_caps(parameters.for_year(original["year"]), posted.after)
            facility = await facility_row(original["facility"])
            view = _result(posted.movement, facility["name"], annual, ooc_left)
            await record(now, clerk.actor, "reversal", "settlement", settlement_id, {"reversal_id": view.id})
            await claim.complete(201, msgspec.json.encode(view), now)
        return view

    try:
        return await retry_transient(transaction)
    except UniqueViolation as exc:
        raise ledger.already_reversed() from exc
