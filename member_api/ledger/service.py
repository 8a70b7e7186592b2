"""The one writer of money: post a movement under the account lock, reverse one, read a state, shape a view.

Every fund movement (counter settlement, claim payout, reversal) is an immutable row (R11) and changes the
account's used amounts in the same transaction, under the account's row lock, so concurrent movements of one
member never exceed the caps (R4). Callers run these inside ``db.write_transaction()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import msgspec

from member_api.catalogue.schemas import ItemView
from member_api.catalogue.service import item_row, stored_item_view
from member_api.core import replica
from member_api.core.clock import LOCAL_TZ
from member_api.core.errors import DomainError
from member_api.ledger import events, queries
from member_api.ledger.schemas import LineView, SettlementView
from member_api.notices.service import notify_movement
from member_api.policy.reimbursement import AccountState, Bill, Reimbursement

COUNTER, CLAIM_PAYOUT, REVERSAL = "counter", "claim_payout", "reversal"
KINDS = (COUNTER, REVERSAL, CLAIM_PAYOUT)


@dataclass(frozen=True)
class Entry:
    """What a movement records besides the amounts the policy engine computes."""

    member: int
    facility: int
    kind: str
    year: int
    visit_date: date
    bill: Bill
    clerk_id: int | None = None
    emergency: bool = False
    referral_id: int | None = None
    credential_jti: str | None = None
    reason_text: str = ""
    facility_name: str | None = None
    """For the member's notice, when the caller has read it already (one statement fewer)."""
    notice_recipients: list[int] | None = None
    """Who the notice goes to, when the caller has read it already, outside the lock (one statement fewer)."""


@dataclass(frozen=True)
class Posted:
    movement: dict[str, Any]
    before: AccountState
    after: AccountState


def already_reversed() -> DomainError:
    return DomainError("already_reversed", "该结算已冲正", "This settlement was already reversed.")


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def _apply(
    account: dict[str, Any], fund_fen: int, out_of_city: bool, now: datetime
) -> tuple[AccountState, AccountState]:
    before = AccountState(used_fen=account["used_fen"], used_out_of_city_fen=account["used_out_of_city_fen"])
    after = AccountState(
        used_fen=before.used_fen + fund_fen,
        used_out_of_city_fen=before.used_out_of_city_fen + (fund_fen if out_of_city else 0),
    )
    await queries.set_used(account["id"], after.used_fen, after.used_out_of_city_fen, now)
    return before, after


async def post(
    entry: Entry, now: datetime, compute: Callable[[AccountState], Reimbursement]
) -> tuple[Posted, Reimbursement]:
    """Lock the account of (member, year), compute against its state, record the movement, update the account."""
    account = await queries.lock_account(entry.member, entry.year, now)
    state = AccountState(used_fen=account["used_fen"], used_out_of_city_fen=account["used_out_of_city_fen"])
    result = compute(state)
    before, after = _moved(state, result.fund_fen, result.out_of_city)
    # One statement: the movement (R16's same-day flag decided in it, after the lock), and the account's new used
    # amounts (PostgreSQL: a data-modifying CTE; SQLite: its statements, in the in-process transaction).
    row = await queries.record_movement(
        {
            "member": entry.member,
            "facility": entry.facility,
            "kind": entry.kind,
            "year": entry.year,
            "visit_date": entry.visit_date,
            "clerk_id": entry.clerk_id,
            "general_fee_fen": entry.bill.general_fee_fen,
            "compliant_fen": entry.bill.compliant_fen,
            "non_compliant_fen": entry.bill.non_compliant_fen,
            "emergency": entry.emergency,
            "referral_id": entry.referral_id,
            "out_of_city": result.out_of_city,
            "fund_fen": result.fund_fen,
            "member_fen": result.member_fen,
            "lines": _json([msgspec.to_builtins(line) for line in result.lines]),
            "reasons": _json(list(result.reasons)),
            "repeat_same_day": False,
            "credential_jti": entry.credential_jti,
            "reverses": None,
            "reason_text": entry.reason_text,
            "created_at": now,
            "itemised": bool(result.items),
        },
        account["id"],
        after,
        same_day_check=entry.kind == COUNTER,
    )
    await queries.insert_items(row["id"], [item_row(line) for line in result.items])
    await notify_movement(row, now, entry.facility_name, to=entry.notice_recipients)
    return Posted(movement=row, before=before, after=after), result


def _moved(before: AccountState, fund_fen: int, out_of_city: bool) -> tuple[AccountState, AccountState]:
    return before, AccountState(
        used_fen=before.used_fen + fund_fen,
        used_out_of_city_fen=before.used_out_of_city_fen + (fund_fen if out_of_city else 0),
    )


async def reverse(original: dict[str, Any], clerk_id: int | None, reason: str, now: datetime) -> Posted:
    """Undo a movement by a negative one that restores the cap; the original stays (R11). 409 when it was undone.

    The account lock comes first, so of concurrent reversals exactly one sees no reversal yet.
    """
    posted = await _reverse_once(original, clerk_id, reason, now)
    if posted is None:
        raise already_reversed()
    return posted


async def ensure_reversed(original: dict[str, Any], clerk_id: int | None, reason: str, now: datetime) -> int:
    """The id of the movement undoing ``original``: the one already posted (a counter's, even one committed a
    moment ago), else a new one; decided under the account lock like ``reverse``, so the movement is undone once."""
    posted = await _reverse_once(original, clerk_id, reason, now)
    if posted is not None:
        return int(posted.movement["id"])
    found = await queries.reversal_of(original["id"])
    assert found is not None  # seen under the account lock, and movements are never deleted
    return int(found["id"])


async def _reverse_once(original: dict[str, Any], clerk_id: int | None, reason: str, now: datetime) -> Posted | None:
    account = await queries.lock_account(original["member"], original["year"], now)
    if await queries.reversal_of(original["id"]) is not None:
        return None
    row = await queries.insert_movement(
        {
            "member": original["member"],
            "facility": original["facility"],
            "kind": REVERSAL,
            "year": original["year"],
            "visit_date": original["visit_date"],
            "clerk_id": clerk_id,
            "general_fee_fen": -original["general_fee_fen"],
            "compliant_fen": -original["compliant_fen"],
            "non_compliant_fen": -original["non_compliant_fen"],
            "emergency": original["emergency"],
            "referral_id": None,
            "out_of_city": original["out_of_city"],
            "fund_fen": -original["fund_fen"],
            "member_fen": -original["member_fen"],
            "lines": "[]",
            "reasons": _json(["reversal"]),
            "repeat_same_day": False,
            "credential_jti": None,
            "reverses": original["id"],
            "reason_text": reason.strip(),
            "created_at": now,
            "itemised": original["itemised"],
        }
    )
    before, after = await _apply(account, -original["fund_fen"], original["out_of_city"], now)
    await notify_movement(row, now)
    return Posted(movement=row, before=before, after=after)


async def state(member_id: int, year: int) -> AccountState:
    row = await queries.account(member_id, year)
    if row is None:
        return AccountState()
    return AccountState(used_fen=row["used_fen"], used_out_of_city_fen=row["used_out_of_city_fen"])


async def movement(movement_id: int) -> dict[str, Any] | None:
    return await queries.movement(movement_id)


async def member_movement(member_id: int, movement_id: int) -> dict[str, Any] | None:
    return await queries.member_movement(member_id, movement_id)


async def credential_used(jti: str | None) -> bool:
    return jti is not None and await queries.jti_used(jti)


async def member_movement_by_credential(member_id: int, jtis: list[str]) -> dict[str, Any] | None:
    """The movement a counter settled with one of the member's e-credentials (its ``jti``), if any yet."""
    return await queries.member_movement_by_credential(member_id, jtis)


@asynccontextmanager
async def credential_watch(jtis: list[str]) -> AsyncIterator[Callable[[float], Awaitable[bool]]]:
    """For one e-credential screen's stream: yields ``used(timeout)``, whether a counter settled one of ``jtis``
    (waiting up to ``timeout`` seconds). Pushed by the database (LISTEN/NOTIFY) to this worker's hub, which checks
    the codes once, not per call; a hub not started (no app lifespan) is replaced by a check per call."""
    hub = events.hub()
    if not hub.running:

        async def check(timeout: float) -> bool:  # noqa: ASYNC109 - one deadline per call
            if await queries.used_jtis(jtis):
                return True
            await asyncio.sleep(min(timeout, events.SQLITE_POLL_S))
            return False

        yield check
        return
    with hub.watching(jtis) as wait:

        async def used(timeout: float) -> bool:  # noqa: ASYNC109 - one deadline per call
            return await wait(timeout) is not None

        yield used


start_credential_events = events.start
stop_credential_events = events.stop


async def member_page(
    member_id: int,
    year: int | None,
    kind: str | None,
    facility_id: int | None,
    before_id: int | None,
    limit: int,
    *,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
) -> list[dict[str, Any]]:
    """A page of the member's movements, newest first. A page below ``before_id`` whose newest row is from before
    today (and older than the replica may lag) comes from the read replica when there is one: ids grow with time,
    so every row of it is old enough to be there. The first page, or one reaching into today, reads the primary.
    """
    found = replica.current()
    if before_id and found is not None:
        with replica.reads():
            rows = await queries.member_page(
                member_id,
                year,
                kind,
                facility_id,
                before_id,
                limit,
                created_from=created_from,
                created_before=created_before,
            )
        now = datetime.now(UTC)
        cutoff = min(datetime.combine(now.astimezone(LOCAL_TZ).date(), time(), LOCAL_TZ), now - found.lag_allowance)
        if rows and _aware(rows[0]["created_at"]) < cutoff:
            return rows
    with replica.primary_only():
        return await queries.member_page(
            member_id,
            year,
            kind,
            facility_id,
            before_id,
            limit,
            created_from=created_from,
            created_before=created_before,
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


facility_movements = queries.facility_movements
facility_counter_rows = queries.facility_counter_rows
member_year_rows = queries.member_year_rows
reversals_of = queries.reversals_of


def _decoded(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


async def items_of(movement_ids: list[int]) -> dict[int, list[ItemView]]:
    """The bill lines each movement was settled with (R18), by movement id (manual entries have none)."""
    found: dict[int, list[ItemView]] = {}
    for row in await queries.items_of(movement_ids):
        found.setdefault(row["movement"], []).append(stored_item_view(row))
    return found


def view(
    row: dict[str, Any], facility_name: str, reversed_by: int | None = None, items: list[ItemView] | None = None
) -> SettlementView:
    """A stored movement row (as the table returns it) shown to a resident, a clerk or a reviewer; ``items``: its
    lines (``items_of``), for a detail view."""
    created = row["created_at"]
    return SettlementView(
        id=row["id"],
        kind=row["kind"],
        member_id=row["member"],
        facility_id=row["facility"],
        facility_name=facility_name,
        visit_date=row["visit_date"],
        year=row["year"],
        general_fee_fen=row["general_fee_fen"],
        compliant_fen=row["compliant_fen"],
        non_compliant_fen=row["non_compliant_fen"],
        fund_fen=row["fund_fen"],
        member_fen=row["member_fen"],
        reasons=_decoded(row["reasons"]),
        lines=[msgspec.convert(x, LineView) for x in _decoded(row["lines"])],
        repeat_same_day=bool(row["repeat_same_day"]),
        out_of_city=bool(row["out_of_city"]),
        emergency=bool(row["emergency"]),
        reverses=row["reverses"],
        reversed_by=reversed_by,
        created_at=created.astimezone(LOCAL_TZ) if created.tzinfo else created,
        manual_entry=not row.get("itemised", False),
        items=items or [],
    )


async def check() -> dict[str, Any]:
    """``member-api ledger-check``: every account equals the sum of its movements (also out of city), and every
    reversal undoes exactly the movement it names. Read-only; run it after an incident or a restore."""
    counts = await queries.ledger_counts()
    return {
        "accounts": counts["accounts"],
        "movements": counts["movements"],
        "account_mismatches": await queries.account_mismatches(),
        "reversal_mismatches": await queries.reversal_mismatches(),
    }
