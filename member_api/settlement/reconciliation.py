"""Daily reconciliation of a facility's counter (the national interface's 3201/3202; REST and CSV for clerks).

One function serves the clerk's ``GET /v1/counter/reconciliation`` (and its CSV) and the facility system's 3201
and 3202 messages, so the figures a clinic matches its cash book against are the ledger's, computed once.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta

from member_api.core.clock import LOCAL_TZ
from member_api.core.errors import invalid_field
from member_api.facilities import service as facility_service
from member_api.ledger import service as ledger
from member_api.members.service import insurance_numbers
from member_api.settlement.schemas import (
    Reconciliation,
    ReconciliationFund,
    ReconciliationKind,
    ReconciliationLine,
)

MAX_DAYS = 31
FUND_POOL = "390100"
"""基金支付类型 of the residents' basic medical insurance pooling fund (城乡居民基本医疗保险基金)."""
KIND_ORDER = (ledger.COUNTER, ledger.REVERSAL)


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ)


def _local(at: datetime) -> datetime:
    """Stored times are UTC (a driver may hand them back naive)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(LOCAL_TZ)


def _bill(row: dict[str, object]) -> int:
    return int(row["general_fee_fen"]) + int(row["compliant_fen"]) + int(row["non_compliant_fen"])  # type: ignore[call-overload]


async def reconcile(facility_id: int, date_from: date, date_to: date | None = None) -> Reconciliation:
    """Counts and sums by kind and by fund type of the counter movements a facility recorded on these local days,
    with the list behind them (oldest first)."""
    date_to = date_to or date_from
    if date_to < date_from:
        raise invalid_field(
            "date_to", "对账结束日期早于开始日期", "The end date is before the start date.", "date_range_invalid"
        )
    if (date_to - date_from).days >= MAX_DAYS:
        raise invalid_field(
            "date_to", f"对账区间最长 {MAX_DAYS} 天", f"At most {MAX_DAYS} days at once.", "date_range_invalid"
        )
    facility = await facility_service.detail(facility_id)
    rows = await ledger.facility_counter_rows(
        facility_id, _local_start(date_from), _local_start(date_to + timedelta(days=1))
    )
    numbers = await insurance_numbers([r["member"] for r in rows])
    items = [
        ReconciliationLine(
            settlement_id=r["id"],
            kind=r["kind"],
            reverses=r["reverses"],
            member_id=r["member"],
            psn_no=numbers.get(r["member"], ""),
            visit_date=r["visit_date"],
            settled_at=_local(r["created_at"]),
            medfee_fen=_bill(r),
            fund_fen=r["fund_fen"],
            member_fen=r["member_fen"],
        )
        for r in rows
    ]
    by_kind = [
        ReconciliationKind(
            kind=kind,
            count=sum(1 for i in items if i.kind == kind),
            medfee_fen=sum(i.medfee_fen for i in items if i.kind == kind),
            fund_fen=sum(i.fund_fen for i in items if i.kind == kind),
            member_fen=sum(i.member_fen for i in items if i.kind == kind),
        )
        for kind in KIND_ORDER
    ]
    fund_fen = sum(i.fund_fen for i in items)
    member_fen = sum(i.member_fen for i in items)
    return Reconciliation(
        facility_id=facility_id,
        facility_name=facility.name,
        date_from=date_from,
        date_to=date_to,
        count=len(items),
        medfee_fen=sum(i.medfee_fen for i in items),
        fund_fen=fund_fen,
        member_fen=member_fen,
        by_kind=by_kind,
        by_fund_type=[
            ReconciliationFund(
                fund_pay_type=FUND_POOL,
                name="城乡居民基本医疗保险基金",
                count=sum(1 for i in items if i.fund_fen),
                amount_fen=fund_fen,
            ),
            ReconciliationFund(
                fund_pay_type="cash",
                name="个人现金支付",
                count=sum(1 for i in items if i.member_fen),
                amount_fen=member_fen,
            ),
        ],
        items=items,
    )


CSV_HEADER = (
    "settlement_id",
    "kind",
    "reverses",
    "psn_no",
    "visit_date",
    "settled_at",
    "medfee_yuan",
    "fund_yuan",
    "member_yuan",
)


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def as_csv(report: Reconciliation) -> bytes:
    """The list behind the figures, one line per movement, then a total line per kind and the grand total (UTF-8
    with a byte-order mark so spreadsheet programs in China open it as UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for item in report.items:
        writer.writerow(
            (
                item.settlement_id,
                item.kind,
                item.reverses or "",
                item.psn_no,
                item.visit_date.isoformat(),
                item.settled_at.isoformat(timespec="seconds"),
                _yuan(item.medfee_fen),
                _yuan(item.fund_fen),
                _yuan(item.member_fen),
            )
        )
    for kind in report.by_kind:
        writer.writerow(
            (
                f"total:{kind.kind}",
                kind.count,
                "",
                "",
                "",
                "",
                _yuan(kind.medfee_fen),
                _yuan(kind.fund_fen),
                _yuan(kind.member_fen),
            )
        )
    writer.writerow(
        (
            "total",
            report.count,
            "",
            "",
            "",
            "",
            _yuan(report.medfee_fen),
            _yuan(report.fund_fen),
            _yuan(report.member_fen),
        )
    )
    return ("\ufeff" + out.getvalue()).encode()
