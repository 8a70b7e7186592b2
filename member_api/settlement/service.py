"""Counter verification, settlement and reversal: one transaction locks the benefit account (R4, R8, R11)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from member_api.audit.service import record
from member_api.auth.principal import Principal
from member_api.claims.referral_rules import referral_for
from member_api.clock import LOCAL_TZ, local_today
from member_api.context import AppContext
from member_api.credential import tokens as credential_tokens
from member_api.db import fetch, fetch_one, retry_transient, write_transaction
from member_api.errors import ApiError, invalid_field, not_found
from member_api.facilities.designation import designation_on
from member_api.members.identity import id_problem, mask_name, normalise_id
from member_api.members.service import enrollment_of
from member_api.policy import parameters
from member_api.policy.reimbursement import (
    AccountState,
    Bill,
    Coverage,
    FacilityFacts,
    Reimbursement,
    reimburse,
    remaining_caps,
)
from member_api.settlement.idempotency import Claim
from member_api.settlement.schemas import (
    LineView,
    SettlementRequest,
    SettlementResult,
    SettlementView,
    VerifyRequest,
    VerifyResult,
)
from member_api.settlement.tables import BenefitAccount, Settlement


def _params(day: date) -> parameters.PolicyYear:
    try:
        return parameters.for_date(day)
    except parameters.NoPolicyYear:
        raise invalid_field(
            "visit_date", "该日期不在任何医保年度参数范围内", "No policy year covers this date.", code="no_policy_year"
        ) from None


MEMBER_BY_SUBJECT = (
    "SELECT id, name, id_masked, birth_date, credential_subject FROM member WHERE credential_subject = {}"
)
MEMBER_BY_ID_HASH = "SELECT id, name, id_masked, birth_date, credential_subject FROM member WHERE id_hash = {}"


async def identify_member(
    ctx: AppContext, credential: str | None, id_number: str | None
) -> tuple[dict[str, Any], str | None]:
    """R8: the member by e-credential (also returns its jti) or by ID number (ID card / SSC path)."""
    if bool(credential) == bool(id_number):
        raise ApiError(
            "identity_required",
            422,
            "请扫描医保电子凭证或输入身份证号（二选一）",
            "Give exactly one of credential or id_number.",
        )
    if credential:
        subject, jti = credential_tokens.read(ctx.keyring, credential, ctx.clock.now())
        member = await fetch_one(MEMBER_BY_SUBJECT, subject)
        if member is None:
            raise ApiError("credential_invalid", 401, "医保电子凭证无效", "The e-credential is not valid.")
        return member, jti
    assert id_number is not None
    problem = id_problem(id_number)
    if problem:
        raise invalid_field("id_number", "身份证号码有误，请核对", problem, code="invalid_id_number")
    id_hash = ctx.keyring.keyed_hash("id", normalise_id(id_number))
    member = await fetch_one(MEMBER_BY_ID_HASH, id_hash)
    if member is None:
        raise ApiError("member_not_found", 404, "未找到该参保人", "No member with this ID number.")
    return member, None


async def _account_state(member_id: int, year: int) -> AccountState:
    row = (
        await BenefitAccount.select()
        .where((BenefitAccount.member == member_id) & (BenefitAccount.year == year))
        .first()
    )
    return (
        AccountState(used_fen=row["used_fen"], used_out_of_city_fen=row["used_out_of_city_fen"])
        if row
        else AccountState()
    )


async def _jti_used(jti: str | None) -> bool:
    used = "SELECT 1 AS used FROM settlement WHERE credential_jti = {}"
    return jti is not None and await fetch_one(used, jti) is not None


def _credential_used() -> ApiError:
    return ApiError("credential_used", 409, "该二维码已使用，请刷新后重新出示", "This e-credential was already used.")


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


async def verify(ctx: AppContext, clerk: Principal, req: VerifyRequest) -> VerifyResult:
    member, jti = await identify_member(ctx, req.credential, req.id_number)
    if await _jti_used(jti):
        raise _credential_used()
    today = local_today(ctx.clock)
    params = _params(today)
    enrolled, paid_up = await enrollment_of(member["id"], today.year)
    designation = await designation_on(member["id"], today)
    annual, ooc = remaining_caps(params, await _account_state(member["id"], params.year))
    await record(ctx.clock.now(), clerk.actor, "counter_verify", "member", member["id"])
    return VerifyResult(
        member_ref=member["credential_subject"],
        name_masked=mask_name(member["name"]),
        id_number_masked=member["id_masked"],
        age=_age(member["birth_date"], today),
        year=params.year,
        eligible=enrolled and paid_up,
        designated_here=bool(designation and clerk.facility_id in (designation["institution"], designation["station"])),
        designated_institution_id=designation["institution"] if designation else None,
        remaining_fen=annual,
        remaining_out_of_city_fen=ooc,
    )


async def facility_row(facility_id: int) -> dict[str, Any]:
    """What the policy engine and a receipt need of a facility: id, name, kind, tier, in_city."""
    row = await fetch_one("SELECT id, name, kind, tier, in_city FROM facility WHERE id = {}", facility_id)
    if row is None:
        raise not_found("医疗机构", "facility")
    return row


async def locked_account(member_id: int, year: int, now: datetime) -> dict[str, Any]:
    """The member's account for the year, created on first use and row-locked, in one statement."""
    row = await fetch_one(
        "INSERT INTO benefit_account (member, year, used_fen, used_out_of_city_fen, updated_at)"
        " VALUES ({}, {}, 0, 0, {}) ON CONFLICT (member, year) DO UPDATE SET updated_at = excluded.updated_at"
        " RETURNING id, used_fen, used_out_of_city_fen",
        member_id,
        year,
        now,
    )
    assert row is not None
    return row


async def apply_movement(
    account_id: int, state: AccountState, fund_fen: int, out_of_city: bool, now: datetime
) -> AccountState:
    """Add a fund movement (negative for a reversal) to the locked account; the one writer of used amounts."""
    after = AccountState(
        used_fen=state.used_fen + fund_fen,
        used_out_of_city_fen=state.used_out_of_city_fen + (fund_fen if out_of_city else 0),
    )
    await fetch(
        "UPDATE benefit_account SET used_fen = {}, used_out_of_city_fen = {}, updated_at = {} WHERE id = {}",
        after.used_fen,
        after.used_out_of_city_fen,
        now,
        account_id,
    )
    return after


MOVEMENT_DEFAULTS: dict[str, Any] = {
    "clerk_id": None,
    "general_fee_fen": 0,
    "compliant_fen": 0,
    "non_compliant_fen": 0,
    "emergency": False,
    "referral_id": None,
    "out_of_city": False,
    "lines": [],
    "reasons": [],
    "repeat_same_day": False,
    "credential_jti": None,
    "reverses": None,
    "reason_text": "",
}


MOVEMENT_COLUMNS = tuple(c._meta.db_column_name for c in Settlement._meta.non_default_columns)
INSERT_MOVEMENT = "INSERT INTO settlement ({}) VALUES ({}) RETURNING id".format(  # noqa: S608 - names from the Table
    ", ".join(MOVEMENT_COLUMNS), ", ".join("{}" for _ in MOVEMENT_COLUMNS)
)


async def insert_movement(**values: Any) -> dict[str, Any]:
    """Add a fund movement row (settlement, claim payout or reversal); rows are never changed (R11)."""
    row = {**MOVEMENT_DEFAULTS, **values}
    params = {**row, "lines": _json(row["lines"]), "reasons": _json(row["reasons"])}
    inserted = await fetch_one(INSERT_MOVEMENT, *(params[c] for c in MOVEMENT_COLUMNS))
    assert inserted is not None
    return {**row, "id": inserted["id"]}


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _lines(result: Reimbursement) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(line) for line in result.lines]


async def settle(ctx: AppContext, clerk: Principal, req: SettlementRequest, claim: Claim) -> SettlementResult:
    """Verify, compute with the policy engine, and commit settlement + account + audit + idempotency at once.

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
    jti: str | None = None

    async def transaction() -> SettlementResult:
        nonlocal jti
        now = ctx.clock.now()
        async with write_transaction():
            member, jti = await identify_member(ctx, req.credential, req.id_number)
            if await _jti_used(jti):
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
            enrolled, paid_up = await enrollment_of(member["id"], params.year)
            designation = await designation_on(member["id"], req.visit_date)
            designated = bool(designation and facility["id"] in (designation["institution"], designation["station"]))
            facts = FacilityFacts(kind=facility["kind"], tier=facility["tier"], in_city=facility["in_city"])
            coverage = Coverage(
                eligible=enrolled and paid_up,
                designated=designated,
                emergency=req.emergency,
                referral_approved=referral is not None,
            )
            account = await locked_account(member["id"], params.year, now)
            state = AccountState(used_fen=account["used_fen"], used_out_of_city_fen=account["used_out_of_city_fen"])
            result = reimburse(params, facts, coverage, bill, state)
            repeat = (
                await fetch_one(
                    "SELECT 1 AS hit FROM settlement WHERE member = {} AND facility = {} AND visit_date = {}"
                    " AND kind = 'counter' LIMIT 1",
                    member["id"],
                    facility["id"],
                    req.visit_date,
                )
                is not None
            )
            row = await insert_movement(
                member=member["id"],
                facility=facility["id"],
                kind="counter",
                year=params.year,
                visit_date=req.visit_date,
                clerk_id=clerk.staff_id,
                general_fee_fen=req.general_fee_fen,
                compliant_fen=req.compliant_fen,
                non_compliant_fen=req.non_compliant_fen,
                emergency=req.emergency,
                referral_id=req.referral_id,
                out_of_city=result.out_of_city,
                fund_fen=result.fund_fen,
                member_fen=result.member_fen,
                lines=_lines(result),
                reasons=result.reasons,
                repeat_same_day=repeat,
                credential_jti=jti,
                created_at=now,
            )
            await apply_movement(account["id"], state, result.fund_fen, result.out_of_city, now)
            annual, ooc = result.remaining_after(params, state)
            view = _result(row, facility["name"], annual, ooc)
            await record(
                now,
                clerk.actor,
                "settlement",
                "settlement",
                row["id"],
                {"fund_fen": result.fund_fen, "member_fen": result.member_fen, "repeat_same_day": repeat},
            )
            await claim.complete(201, msgspec.json.encode(view), now)
        return view

    try:
        return await retry_transient(transaction)
    except ApiError:
        raise
    except Exception as exc:
        text = str(exc).lower()
        if jti and ("unique" in text or "duplicate" in text):
            raise _credential_used() from exc  # a concurrent settlement consumed the same jti first
        raise


def _view(row: dict[str, Any], facility_name: str, reversed_by: int | None = None) -> SettlementView:
    get = row.get
    lines = get("lines")
    if isinstance(lines, str):
        lines = msgspec.json.decode(lines)
    reasons = get("reasons")
    if isinstance(reasons, str):
        reasons = msgspec.json.decode(reasons)
    created = get("created_at")
    return SettlementView(
        id=get("id"),
        kind=get("kind"),
        member_id=get("member"),
        facility_id=get("facility"),
        facility_name=facility_name,
        visit_date=get("visit_date"),
        year=get("year"),
        general_fee_fen=get("general_fee_fen"),
        compliant_fen=get("compliant_fen"),
        non_compliant_fen=get("non_compliant_fen"),
        fund_fen=get("fund_fen"),
        member_fen=get("member_fen"),
        reasons=reasons,
        lines=[msgspec.convert(x, LineView) for x in lines],
        repeat_same_day=get("repeat_same_day"),
        out_of_city=get("out_of_city"),
        emergency=get("emergency"),
        reverses=get("reverses"),
        reversed_by=reversed_by,
        created_at=created.astimezone(LOCAL_TZ) if created.tzinfo else created,
    )


def _result(row: dict[str, Any], facility_name: str, annual: int, ooc: int) -> SettlementResult:
    base = _view(row, facility_name)
    return SettlementResult(**msgspec.structs.asdict(base), remaining_fen=annual, remaining_out_of_city_fen=ooc)


async def reverse(ctx: AppContext, clerk: Principal, settlement_id: int, reason: str, claim: Claim) -> SettlementResult:
    """A counter settlement is undone by a new negative row that restores the cap; the original stays (R11)."""

    async def transaction() -> SettlementResult:
        now, today = ctx.clock.now(), local_today(ctx.clock)
        async with write_transaction():
            original = await Settlement.select().where(Settlement.id == settlement_id).first()
            if original is None or original["facility"] != clerk.facility_id or original["kind"] != "counter":
                raise not_found("结算记录", "settlement")
            if original["year"] != _params(today).year:
                raise ApiError(
                    "reversal_outside_policy_year",
                    422,
                    "只能冲正本医保年度的结算",
                    "Only settlements of the current policy year can be reversed.",
                )
            if await Settlement.exists().where(Settlement.reverses == settlement_id):
                raise ApiError("already_reversed", 409, "该结算已冲正", "This settlement was already reversed.")
            account = await locked_account(original["member"], original["year"], now)
            row = await insert_movement(
                member=original["member"],
                facility=original["facility"],
                kind="reversal",
                year=original["year"],
                visit_date=original["visit_date"],
                clerk_id=clerk.staff_id,
                general_fee_fen=-original["general_fee_fen"],
                compliant_fen=-original["compliant_fen"],
                non_compliant_fen=-original["non_compliant_fen"],
                emergency=original["emergency"],
                out_of_city=original["out_of_city"],
                fund_fen=-original["fund_fen"],
                member_fen=-original["member_fen"],
                lines=[],
                reasons=["reversal"],
                reverses=settlement_id,
                reason_text=reason.strip(),
                created_at=now,
            )
            state = AccountState(used_fen=account["used_fen"], used_out_of_city_fen=account["used_out_of_city_fen"])
            after = await apply_movement(account["id"], state, -original["fund_fen"], original["out_of_city"], now)
            annual, ooc_left = remaining_caps(parameters.for_year(original["year"]), after)
            facility = await facility_row(original["facility"])
            view = _result(row, facility["name"], annual, ooc_left)
            await record(now, clerk.actor, "reversal", "settlement", settlement_id, {"reversal_id": row["id"]})
            await claim.complete(201, msgspec.json.encode(view), now)
        return view

    return await retry_transient(transaction)
