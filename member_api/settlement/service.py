"""Counter verification, quote, settlement and reversal (R4, R8, R11, R17): the policy engine decides, the ledger
records."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from member_api.audit.service import record
from member_api.catalogue import service as catalogue
from member_api.core import tokens
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, FieldError, invalid_field, not_found
from member_api.core.idempotency import KeyLease
from member_api.core.principal import Principal
from member_api.credential.identify import identify_member
from member_api.db import UniqueViolation, retry_transient, write_transaction
from member_api.facilities import service as facility_service
from member_api.ledger import service as ledger
from member_api.ledger.schemas import LineView
from member_api.members.identity import mask_name
from member_api.members.service import eligibility
from member_api.notices.service import recipients as notice_recipients
from member_api.policy import parameters
from member_api.policy.fee_lines import ValuedLine, totals
from member_api.policy.reimbursement import (
    AccountState,
    Bill,
    Coverage,
    FacilityFacts,
    Reimbursement,
    reimburse,
    reimburse_lines,
    remaining_caps,
)
from member_api.policy.year_grace import may_settle, settle_until
from member_api.referrals.service import referral_for
from member_api.settlement.schemas import (
    QuotedFigures,
    QuoteResult,
    SettlementRequest,
    SettlementResult,
    VerifyRequest,
    VerifyResult,
)

QUOTE_AUDIENCE = "counter-quote"


def _params(day: date) -> parameters.PolicyYear:
    try:
        return parameters.for_date(day)
    except parameters.NoPolicyYear:
        raise invalid_field(
            "visit_date", "该日期不在任何医保年度参数范围内", "No policy year covers this date.", code="no_policy_year"
        ) from None


def _credential_used() -> DomainError:
    return DomainError("credential_used", "该二维码已使用，请刷新后重新出示", "This e-credential was already used.")


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
    designation = await facility_service.designation_on(member["id"], today)
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


def _result(
    row: dict[str, Any], facility_name: str, annual: int, ooc: int, result: Reimbursement | None = None
) -> SettlementResult:
    items = [catalogue.item_view(line) for line in result.items] if result is not None else None
    base = ledger.view(row, facility_name, items=items)
    return SettlementResult(**msgspec.structs.asdict(base), remaining_fen=annual, remaining_out_of_city_fen=ooc)


def _visit_params(visit_date: date, today: date) -> parameters.PolicyYear:
    """R17: the policy year a visit settles against, while its settlement window is open."""
    if visit_date > today:
        raise invalid_field("visit_date", "就诊日期不能晚于今天", "visit_date is in the future.")
    params = _params(visit_date)
    if not may_settle(params, today):
        until = settle_until(params)
        raise DomainError(
            "visit_outside_policy_year",
            f"该就诊属于 {params.year} 医保年度，只能在 {until.isoformat()} 前（含当日）结算，现已不能结算",
            f"This visit belongs to policy year {params.year}; it could be settled until {until.isoformat()}.",
            errors=[FieldError(field="visit_date", message=f"settlement possible until {until.isoformat()}")],
            extra={"year": params.year, "settle_until": until.isoformat()},
        )
    return params


class _Priced(msgspec.Struct, frozen=True):
    """The bill as the policy engine takes it: itemised lines valued by the catalogue (R18), or three typed totals."""

    bill: Bill
    lines: list[ValuedLine] | None

    def reimburse(
        self, params: parameters.PolicyYear, facts: FacilityFacts, coverage: Coverage, state: AccountState
    ) -> Reimbursement:
        if self.lines is not None:
            return reimburse_lines(params, facts, coverage, self.lines, state)
        return reimburse(params, facts, coverage, self.bill, state)


async def _priced(clerk: Principal, req: SettlementRequest) -> _Priced:
    """R18: ``items`` valued with the catalogue entries valid on the visit date (the clerk's facility's own codes
    mapped); or, deprecated, the three typed totals. Bad lines are 422 naming the line; unknown codes are self-paid."""
    if req.items is None:
        return _Priced(bill=_typed_bill(req), lines=None)
    if req.general_fee_fen or req.compliant_fen or req.non_compliant_fen:
        raise invalid_field(
            "items",
            "费用明细与三项合计只能二选一",
            "Give the bill as items or as the three totals, not both.",
            code="items_and_totals",
        )
    if not req.items:
        raise invalid_field("items", "费用明细不能为空", "items needs at least one line.", code="invalid_items")
    valued = await catalogue.value_lines(catalogue.fee_lines(req.items), req.visit_date, clerk.facility_id)
    t = totals(valued)
    bill = Bill(general_fee_fen=t.general_fee_fen, compliant_fen=t.compliant_fen, non_compliant_fen=t.non_compliant_fen)
    return _Priced(bill=bill, lines=valued)


def _typed_bill(req: SettlementRequest) -> Bill:
    return Bill(
        general_fee_fen=req.general_fee_fen, compliant_fen=req.compliant_fen, non_compliant_fen=req.non_compliant_fen
    )


@dataclass(frozen=True)
class _Visit:
    """Who is at the counter and what R1, R3, R7 and R10 say about this visit: the policy engine's input."""

    member: dict[str, Any]
    jti: str | None
    facility: dict[str, Any]
    facts: FacilityFacts
    coverage: Coverage
    notice_recipients: list[int] | None = None


async def _assess(ctx: AppContext, clerk: Principal, req: SettlementRequest, notice_day: date | None = None) -> _Visit:
    """Identify the member (the credential is checked, not consumed) and gather what the rules decide on.

    The reads go out at once on separate pooled connections, in two waves (those that need the member's id wait
    for it): two round trips of waiting instead of six. None of them is money; the account is read under its lock.
    ``notice_day``: also read who is notified of the movement (issue 31: the notice costs no read in the lock).
    """
    assert clerk.facility_id is not None
    (member, jti), facility = await asyncio.gather(
        identify_member(ctx, req.credential, req.id_number), facility_service.facility_facts(clerk.facility_id)
    )

    async def referral() -> dict[str, Any] | None:
        if req.referral_id is None:
            return None
        return await referral_for(member["id"], req.referral_id, facility["id"], req.visit_date)

    async def notified() -> list[int] | None:
        return None if notice_day is None else await notice_recipients(member["id"], notice_day)

    used, found, designation, eligible, recipients = await asyncio.gather(
        ledger.credential_used(jti),
        referral(),
        facility_service.designation_on(member["id"], req.visit_date),
        eligibility(member["id"], req.visit_date),
        notified(),
    )
    if used:
        raise _credential_used()
    if req.referral_id is not None and found is None:
        raise invalid_field(
            "referral_id",
            "没有适用于本次就诊的转诊记录",
            "No approved referral of this member to this facility covers the visit date.",
            code="referral_not_found",
        )
    designated = bool(designation and facility["id"] in (designation["institution"], designation["station"]))
    return _Visit(
        member=member,
        jti=jti,
        facility=facility,
        facts=FacilityFacts(kind=facility["kind"], tier=facility["tier"], in_city=facility["in_city"]),
        coverage=Coverage(
            eligible=eligible,
            designated=designated,
            emergency=req.emergency,
            referral_approved=found is not None,
        ),
        notice_recipients=recipients,
    )


# ---- quotes (the facility interface's pre-settlement step) ---------------------------------------------------------


def _visit_key(req: SettlementRequest) -> list[Any]:
    """What a quote binds of the request: the visit and its bill (identity is bound by member id); the lines by a
    digest, so the quote id stays short whatever the bill's size."""
    key: list[Any] = [
        req.visit_date.isoformat(),
        req.general_fee_fen,
        req.compliant_fen,
        req.non_compliant_fen,
        req.emergency,
        req.referral_id,
    ]
    if req.items is not None:
        lines = [[i.line_no, i.code, i.facility_code, str(i.count), i.unit_price_fen] for i in req.items]
        key.append(hashlib.sha256(msgspec.json.encode(lines)).hexdigest()[:32])
    return key


async def quote(ctx: AppContext, clerk: Principal, req: SettlementRequest) -> QuoteResult:
    """The figures a settlement would have now, on the account as it stands. Writes nothing (no audit line, no
    credential use): the quote id is a short-lived token signed by the service, naming the visit and the figures,
    so the settlement can tell whether anything moved in between."""
    if req.quote_id is not None:
        raise invalid_field("quote_id", "报价请求不能引用报价", "A quote cannot name a quote.")
    now, today = ctx.clock.now(), local_today(ctx.clock)
    params = _visit_params(req.visit_date, today)
    visit = await _assess(ctx, clerk, req)
    priced = await _priced(clerk, req)
    bill = priced.bill
    state = await ledger.state(visit.member["id"], params.year)
    result = priced.reimburse(params, visit.facts, visit.coverage, state)
    before = remaining_caps(params, state)
    annual, ooc = result.remaining_after(params, state)
    exp = int(now.timestamp()) + ctx.settings.quote_ttl_s
    quote_id = tokens.sign(
        ctx.keyring.access,  # never published: only this service reads its quotes
        {
            "aud": QUOTE_AUDIENCE,
            "sub": str(visit.facility["id"]),
            "iat": int(now.timestamp()),
            "exp": exp,
            "m": visit.member["id"],
            "v": _visit_key(req),
            "q": [result.fund_fen, result.member_fen, annual, ooc],
        },
    )
    return QuoteResult(
        quote_id=quote_id,
        expires_at=datetime.fromtimestamp(exp, UTC),
        member_id=visit.member["id"],
        facility_id=visit.facility["id"],
        facility_name=visit.facility["name"],
        visit_date=req.visit_date,
        year=params.year,
        general_fee_fen=bill.general_fee_fen,
        compliant_fen=bill.compliant_fen,
        non_compliant_fen=bill.non_compliant_fen,
        fund_fen=result.fund_fen,
        member_fen=result.member_fen,
        reasons=list(result.reasons),
        lines=[msgspec.convert(msgspec.to_builtins(line), LineView) for line in result.lines],
        manual_entry=priced.lines is None,
        items=[catalogue.item_view(line) for line in result.items],
        out_of_city=result.out_of_city,
        emergency=req.emergency,
        remaining_before_fen=before[0],
        remaining_before_out_of_city_fen=before[1],
        remaining_fen=annual,
        remaining_out_of_city_fen=ooc,
    )


def _quote_problem(code: str, zh: str, en: str) -> DomainError:
    return DomainError(code, zh, en, errors=[FieldError(field="quote_id", message=en)])


def _read_quote(ctx: AppContext, clerk: Principal, req: SettlementRequest) -> dict[str, Any] | None:
    """The claims of the quote the request names (signature, expiry, facility and visit checked), or None."""
    if req.quote_id is None:
        return None
    try:
        claims = tokens.verify(
            ctx.keyring.access,
            req.quote_id,
            audience=QUOTE_AUDIENCE,
            issuer=None,
            now=ctx.clock.now(),
            required=("exp", "iat", "sub", "m", "v", "q"),
        )
    except tokens.TokenError as exc:
        if exc.code == "token_expired":
            raise _quote_problem(
                "quote_expired", "报价已过期，请重新预结算", "The quote has expired; ask for a new one."
            ) from exc
        raise _quote_problem("quote_invalid", "报价编号无效", "The quote id is not valid.") from exc
    if claims["sub"] != str(clerk.facility_id):
        raise _quote_problem("quote_invalid", "报价编号无效", "The quote id is not valid.")
    if claims["v"] != _visit_key(req):
        raise _quote_problem(
            "quote_mismatch",
            "结算内容与报价不一致，请重新预结算",
            "The visit or bill differs from the quoted one; ask for a new quote.",
        )
    return claims


def _compare(claims: dict[str, Any] | None, quote_id: str | None, view: SettlementResult) -> SettlementResult:
    if claims is None or quote_id is None:
        return view
    fund, member, annual, ooc = claims["q"]
    quoted = QuotedFigures(
        quote_id=quote_id, fund_fen=fund, member_fen=member, remaining_fen=annual, remaining_out_of_city_fen=ooc
    )
    changed = [fund, member, annual, ooc] != [
        view.fund_fen,
        view.member_fen,
        view.remaining_fen,
        view.remaining_out_of_city_fen,
    ]
    return msgspec.structs.replace(view, quoted=quoted, changed_since_quote=changed)


# ---- settlement and reversal ------------------------------------------------------------------------------------


async def settle(ctx: AppContext, clerk: Principal, req: SettlementRequest, lease: KeyLease) -> SettlementResult:
    """Verify, compute with the policy engine, and commit movement + account + audit + idempotency at once.

    What is not money (who, where, which designation, paid up, who is notified) is read before the transaction,
    those reads at once (``_assess``); the transaction locks the account, computes against it (R4: the cap check
    under the lock) and writes. A visit of the previous policy year settles against that year's parameters and
    account during its late window (R17).
    """
    params = _visit_params(req.visit_date, local_today(ctx.clock))
    quoted = _read_quote(ctx, clerk, req)
    priced = await _priced(clerk, req)  # reference data: read before the account lock is taken
    bill = priced.bill

    async def transaction() -> SettlementResult:
        now = ctx.clock.now()
        visit = await _assess(ctx, clerk, req, notice_day=now.date())
        async with write_transaction():
            if quoted is not None and quoted["m"] != visit.member["id"]:
                raise _quote_problem("quote_mismatch", "报价属于其他参保人", "The quote was made for another member.")
            entry = ledger.Entry(
                member=visit.member["id"],
                facility=visit.facility["id"],
                kind=ledger.COUNTER,
                year=params.year,
                visit_date=req.visit_date,
                bill=bill,
                clerk_id=clerk.staff_id,
                emergency=req.emergency,
                referral_id=req.referral_id,
                credential_jti=visit.jti,
                facility_name=visit.facility["name"],
                notice_recipients=visit.notice_recipients,
            )

            def compute(state: AccountState) -> Reimbursement:
                return priced.reimburse(params, visit.facts, visit.coverage, state)

            posted, result = await ledger.post(entry, now, compute)
            annual, ooc = result.remaining_after(params, posted.before)
            view = _compare(quoted, req.quote_id, _result(posted.movement, visit.facility["name"], annual, ooc, result))
            details: dict[str, Any] = {
                "fund_fen": view.fund_fen,
                "member_fen": view.member_fen,
                "repeat_same_day": view.repeat_same_day,
            }
            if quoted is not None:
                details["changed_since_quote"] = view.changed_since_quote
            await record(now, clerk.actor, "settlement", "settlement", view.id, details)
            await lease.complete(201, msgspec.json.encode(view), now)
        return view

    try:
        return await retry_transient(transaction)
    except UniqueViolation as exc:
        raise _credential_used() from exc  # a concurrent settlement consumed the same jti first


async def reverse(
    ctx: AppContext, clerk: Principal, settlement_id: int, reason: str, lease: KeyLease
) -> SettlementResult:
    """A counter settlement is undone by a new negative row that restores the cap; the original stays (R11).

    R17: a settlement of the previous policy year can be reversed during that year's late-settlement window
    only, restoring that year's cap.
    """

    async def transaction() -> SettlementResult:
        now, today = ctx.clock.now(), local_today(ctx.clock)
        async with write_transaction():
            original = await ledger.movement(settlement_id)
            if original is None or original["facility"] != clerk.facility_id or original["kind"] != ledger.COUNTER:
                raise not_found("结算记录", "settlement")
            params = parameters.for_year(original["year"])
            if not may_settle(params, today):
                until = settle_until(params)
                raise DomainError(
                    "reversal_outside_policy_year",
                    f"该结算属于 {params.year} 医保年度，只能在 {until.isoformat()} 前（含当日）冲正",
                    f"This settlement belongs to policy year {params.year}; "
                    f"it could be reversed until {until.isoformat()}.",
                    extra={"year": params.year, "settle_until": until.isoformat()},
                )
            posted = await ledger.reverse(original, clerk.staff_id, reason, now)
            annual, ooc_left = remaining_caps(params, posted.after)
            facility = await facility_service.facility_facts(original["facility"])
            view = _result(posted.movement, facility["name"], annual, ooc_left)
            await record(now, clerk.actor, "reversal", "settlement", settlement_id, {"reversal_id": view.id})
            await lease.complete(201, msgspec.json.encode(view), now)
        return view

    try:
        return await retry_transient(transaction)
    except UniqueViolation as exc:
        raise ledger.already_reversed() from exc
