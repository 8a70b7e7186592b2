"""The 15% adjustment fund (调节金, 第九条(二)2) as a per-institution ledger of each year.

Every month's close credits each institution's account with the month's 15% (an *accrual*). The officer
*allocates* from it to a month of that institution whose actual fund payments exceeded its prepayment, at most by
that excess (less what was allocated to the month before), with a reason and the rule cited; the allocation is paid
to the institution when it is made and counted against its year-end balance. The year end *settles* the account:
what is left is closed to zero (it is part of the package the year end pays or returns). Every movement is written
once with the balance it leaves; the balance never goes negative: one conditional UPDATE moves it, a CHECK
constraint backs it, and the account row is locked while the month's room is read.
"""

from __future__ import annotations

from typing import Any

import msgspec

from member_api.agency import queries
from member_api.agency.periods import policy_year
from member_api.agency.schemas import (
    AllocationRequest,
    FundAccount,
    FundLedger,
    FundMovement,
    InstitutionRef,
)
from member_api.audit.service import record
from member_api.auth.service import actor_names
from member_api.core.clock import Clock
from member_api.core.errors import DomainError, FieldError, not_found
from member_api.core.principal import Principal
from member_api.db import write_transaction
from member_api.policy import capitation

RULE = "第九条(二)2"
ACCRUAL_REASON = "按月预付时计提调节金（上月签约人数 × 人均标准/12 × 15%）"
YEAR_END_REASON = "年终结算：调节金余额结清，并入年终决算"


async def accrue(now: Any, actor: str, close_id: int) -> None:
    """Close step: each institution's 15% of this month, credited to its account of the month's year."""
    await queries.fund_accrue(close_id, ACCRUAL_REASON, RULE, actor, now)


async def settle_year(now: Any, actor: str, year: int) -> None:
    """Year-end step: every account of the year closed to zero by one movement each."""
    await queries.fund_settle_year(year, YEAR_END_REASON, RULE, actor, now)


def _movement(row: dict[str, Any], names: dict[str, str]) -> FundMovement:
    return FundMovement(
        id=row["id"],
        institution=InstitutionRef(id=row["institution"], code=row["institution_code"], name=row["institution_name"]),
        year=row["year"],
        month=row["month"],
        kind=row["kind"],
        amount_fen=row["amount_fen"],
        balance_fen=row["balance_fen"],
        reason=row["reason"],
        rule=row["rule"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        created_by_name=names.get(row["created_by"], row["created_by"]),
    )


async def ledger(year: int, institution_id: int | None = None) -> FundLedger:
    """The year's accounts (accrued, allocated, settled, balance) and every movement, per institution."""
    policy_year(year)
    totals = await queries.fund_totals(year)
    rows = await queries.fund_movements(year, institution_id)
    names = await actor_names(sorted({r["created_by"] for r in rows}))
    movements = [_movement(r, names) for r in rows]
    accounts: dict[int, FundAccount] = {}
    for m in movements:
        if m.institution.id not in accounts:
            t = totals.get(m.institution.id, {"accrued": 0, "allocated": 0, "settled": 0, "balance": 0})
            accounts[m.institution.id] = FundAccount(
                institution=m.institution,
                accrued_fen=t["accrued"],
                allocated_fen=t["allocated"],
                settled_fen=t["settled"],
                balance_fen=t["balance"],
            )
    return FundLedger(
        year=year,
        settled=year in await queries.settled_years(),
        accounts=list(accounts.values()),
        movements=movements,
    )


def _refused(code: str, zh: str, en: str, field: str | None = None, **extra: Any) -> DomainError:
    errors = [FieldError(field=field, message=en)] if field else None
    return DomainError(code, zh, en, errors=errors, extra=extra or None)


async def allocate(clock: Clock, officer: Principal, data: AllocationRequest, lease: Any) -> FundMovement:
    """Allocate from an institution's account to one of its cleared months whose actual exceeded its
    prepayment (R13.2 interpretation); audited; the idempotency lease completes in the same transaction."""
    policy_year(data.year)
    inst = await queries.institution(data.institution_id)
    if inst is None or inst["parent"] is not None:
        raise not_found("机构", "institution")
    if data.year in await queries.settled_years():
        raise _refused("year_already_settled", f"{data.year} 年度已年终结算，调节金已结清", f"{data.year} is settled.")
    now = clock.now()
    async with write_transaction():
        await queries.lock_fund_account(data.institution_id, data.year)
        month = await queries.cleared_month(data.institution_id, data.year, data.month)
        if month is None:
            raise _refused(
                "month_not_cleared",
                f"{data.year} 年 {data.month} 月尚未清算（次月月结后才能调节）",
                "The month is cleared by the close of the following month; close it first.",
                "month",
            )
        already = await queries.allocated_to_month(data.institution_id, data.year, data.month)
        room = capitation.allocation_room(month["prepayment_fen"], month["actual_fen"], already)
        if data.amount_fen > room:
            raise _refused(
                "allocation_exceeds_overspend",
                f"调节金只能用于该月实际费用超出预付的部分：本月最多还可调节 {room / 100:.2f} 元",
                f"At most {room} fen: the month's actual over its prepayment, less earlier allocations.",
                "amount_fen",
                room_fen=room,
            )
        balance = await queries.fund_debit(data.institution_id, data.year, data.amount_fen)
        if balance is None:
            raise _refused(
                "adjustment_fund_insufficient",
                "该机构本年度调节金余额不足",
                "The institution's adjustment fund balance does not cover this amount.",
                "amount_fen",
            )
        row = await queries.insert_fund_movement(
            {
                "institution": data.institution_id,
                "year": data.year,
                "month": data.month,
                "kind": "allocation",
                "amount_fen": -data.amount_fen,
                "balance_fen": balance,
                "reason": data.reason.strip(),
                "rule": data.rule.strip() or RULE,
                "created_by": officer.actor,
                "created_at": now,
            }
        )
        await record(
            now,
            officer.actor,
            "adjustment_fund_allocated",
            "adjustment_fund_movement",
            row["id"],
            {"institution": data.institution_id, "period": f"{data.year}-{data.month:02d}", "fen": data.amount_fen},
        )
        result = _movement(
            {**row, "institution_code": inst["code"], "institution_name": inst["name"]},
            await actor_names([officer.actor]),
        )
        await lease.complete(201, msgspec.json.encode(result), now)
    return result
