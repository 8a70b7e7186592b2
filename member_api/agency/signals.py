"""R16 abuse signals and the monthly review sample.

Signals (each one query in ``agency.queries``, thresholds from the policy year of the month):

- ``same_day_repeat``: ``signal_same_day_min_visits`` or more counter settlements of one member at one facility
  on one day (repeated charges 重复收费);
- ``split_visits``: ``signal_split_min_visits`` or more counter settlements of one member at one facility within
  ``signal_split_window_days`` days, each bill under ``signal_split_max_bill_fen`` (分解就诊);
- ``duplicate_receipt``: one receipt file (SHA-256) attached to two or more claims (forged or reused receipts);
- ``outlier_institution``: a primary institution whose visit rate or cost per visit in the month is above
  ``signal_outlier_high_bp`` or below ``signal_outlier_low_bp`` of the median of its peers (same kind);
- ``many_facilities``: a member settled at ``signal_many_facilities_min`` or more facilities in the month;
- ``facility_disputes`` (P2): a unit whose confirmed disputes of the month's visits number at least
  ``signal_dispute_min`` and reach ``signal_dispute_rate_bp`` of its settled visits;
- ``member_disputes`` (P2): a member with ``signal_member_disputes_min`` or more confirmed disputes in the year
  so far, one of them of a visit in the month.

Settlements later reversed stay in the patterns (``reversed_count`` says how many). Each signal links to the
settlements (or claims) behind it and carries a Chinese text with date, member and amount for the officer.
A signal has a stable key; an officer marks it reviewed once, with a note (audited). Members are shown by
internal id and masked name only.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from member_api.agency import queries
from member_api.agency.periods import month_not_ended, policy_year
from member_api.agency.schemas import (
    ReviewSampleView,
    SampleCheck,
    SampleInstitution,
    SampleItem,
    Signal,
    SignalCount,
    SignalKind,
    SignalLine,
    SignalList,
    SignalReviewView,
)
from member_api.audit.service import record
from member_api.auth.service import actor_names
from member_api.core.clock import LOCAL_TZ, Clock, local_today
from member_api.core.errors import DomainError, FieldError
from member_api.core.principal import Principal
from member_api.db import write_transaction
from member_api.members.identity import mask_name
from member_api.policy import capitation
from member_api.policy.capitation import month_end, month_start, next_month_start

KINDS: tuple[SignalKind, ...] = (
    "same_day_repeat",
    "split_visits",
    "duplicate_receipt",
    "outlier_institution",
    "many_facilities",
    "facility_disputes",
    "member_disputes",
    "repeated_item",
    "item_count_high",
    "self_paid_as_compliant",
)


def _utc_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The local (Asia/Shanghai) month as UTC instants, for timestamps stored in UTC."""
    start = datetime.combine(month_start(year, month), time(), LOCAL_TZ).astimezone(UTC)
    end = datetime.combine(next_month_start(year, month), time(), LOCAL_TZ).astimezone(UTC)
    return start, end


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _signal(kind: SignalKind, key: str, year: int, month: int, **fields: Any) -> Signal:
    base: dict[str, Any] = {
        "institution_id": None,
        "facility_id": None,
        "member_id": None,
        "member_name_masked": None,
        "day": None,
        "count": 0,
        "amount_fen": 0,
        "detail": "",
    }
    base.update(fields)
    return Signal(key=key, kind=kind, year=year, month=month, review=None, **base)


async def compute(year: int, month: int, kind: SignalKind | None, unit_id: int | None) -> list[Signal]:
    params = policy_year(year)
    start, end = month_start(year, month), next_month_start(year, month)
    period = f"{year}-{month:02d}"
    found: list[Signal] = []
    wanted = KINDS if kind is None else (kind,)
    if "same_day_repeat" in wanted:
        for r in await queries.same_day_repeats(start, end, unit_id, params.signal_same_day_min_visits):
            day = _day(r["day"])
            found.append(
                _signal(
                    "same_day_repeat",
                    f"same_day_repeat:{r['member']}:{r['facility']}:{day.isoformat()}",
                    year,
                    month,
                    institution_id=r["unit"],
                    facility_id=r["facility"],
                    member_id=r["member"],
                    day=day,
                    count=int(r["n"]),
                    amount_fen=int(r["fund"]),
                    detail=f"{r['n']} counter settlements on {day.isoformat()}",
                )
            )
    if "split_visits" in wanted:
        rows = await queries.split_visits(
            start,
            end,
            unit_id,
            params.signal_split_min_visits,
            params.signal_split_window_days,
            params.signal_split_max_bill_fen,
        )
        for r in rows:
            found.append(
                _signal(
                    "split_visits",
                    f"split_visits:{period}:{r['member']}:{r['facility']}",
                    year,
                    month,
                    institution_id=r["unit"],
                    facility_id=r["facility"],
                    member_id=r["member"],
                    day=_day(r["day"]),
                    count=int(r["n"]),
                    amount_fen=int(r["fund"]),
                    detail=f"{r['n']} small settlements within {params.signal_split_window_days} days",
                )
            )
    if "duplicate_receipt" in wanted:
        utc_start, utc_end = _utc_bounds(year, month)
        for r in await queries.duplicate_receipts(utc_start, utc_end, unit_id):
            found.append(
                _signal(
                    "duplicate_receipt",
                    f"duplicate_receipt:{period}:{r['sha256']}",
                    year,
                    month,
                    institution_id=r["unit"],
                    count=int(r["n"]),
                    detail=f"receipt {r['sha256'][:12]} in {r['n']} claims ({r['first_claim']}..{r['last_claim']})",
                )
            )
    if "outlier_institution" in wanted:
        found += await _outliers(params, year, month, unit_id)
    if "many_facilities" in wanted:
        for r in await queries.many_facilities(start, end, unit_id, params.signal_many_facilities_min):
            found.append(
                _signal(
                    "many_facilities",
                    f"many_facilities:{period}:{r['member']}",
                    year,
                    month,
                    member_id=r["member"],
                    count=int(r["n"]),
                    amount_fen=int(r["fund"]),
                    detail=f"settled at {r['n']} facilities",
                )
            )
    if "facility_disputes" in wanted or "member_disputes" in wanted:
        found += await _dispute_signals(params, year, month, unit_id, wanted)
    found += await item_signals(params, year, month, unit_id, wanted)
    names = await queries.member_names(sorted({s.member_id for s in found if s.member_id is not None}))
    for s in found:
        if s.member_id is not None:
            s.member_name_masked = mask_name(names.get(s.member_id, "?"))
    await _link_settlements(params, found, start, end)
    await _describe(found)
    found.sort(key=lambda s: (KINDS.index(s.kind), s.key))
    return found


async def _dispute_signals(
    params: Any, year: int, month: int, unit_id: int | None, wanted: tuple[SignalKind, ...]
) -> list[Signal]:
    """P2 in R16: units with many confirmed disputes for their visits, members with repeated disputes."""
    start, end = month_start(year, month), next_month_start(year, month)
    period = f"{year}-{month:02d}"
    found: list[Signal] = []
    if "facility_disputes" in wanted:
        month_disputes = await queries.confirmed_disputes(start, end, unit_id)
        visits = await queries.settled_visits_by_unit(start, end)
        by_unit: dict[int, list[dict[str, Any]]] = {}
        for d in month_disputes:
            by_unit.setdefault(d["unit"], []).append(d)
        for unit, rows in sorted(by_unit.items()):
            if not capitation.disputes_signalled(params, len(rows), visits.get(unit, 0)):
                continue
            rate = capitation.per_thousand_tenths(len(rows), visits.get(unit, 0))
            found.append(
                _signal(
                    "facility_disputes",
                    f"facility_disputes:{period}:{unit}",
                    year,
                    month,
                    institution_id=unit,
                    facility_id=unit,
                    day=_day(rows[0]["visit_date"]),
                    count=len(rows),
                    amount_fen=sum(int(r["fund_fen"]) for r in rows),
                    detail=f"{len(rows)} confirmed disputes in {visits.get(unit, 0)} visits",
                    settlement_ids=[int(r["settlement_id"]) for r in rows],
                    reversed_count=len(rows),
                    text_zh=f"每千人次 {(rate or 0) / 10:.1f} 笔",
                )
            )
    if "member_disputes" in wanted:
        year_disputes = await queries.confirmed_disputes(date(year, 1, 1), end, unit_id)
        by_member: dict[int, list[dict[str, Any]]] = {}
        for d in year_disputes:
            by_member.setdefault(d["member"], []).append(d)
        for member, rows in sorted(by_member.items()):
            in_month = [r for r in rows if _day(r["visit_date"]) >= start]
            if len(rows) < params.signal_member_disputes_min or not in_month:
                continue
            found.append(
                _signal(
                    "member_disputes",
                    f"member_disputes:{period}:{member}",
                    year,
                    month,
                    institution_id=in_month[-1]["unit"],
                    facility_id=in_month[-1]["facility"],
                    member_id=member,
                    day=_day(in_month[-1]["visit_date"]),
                    count=len(rows),
                    amount_fen=sum(int(r["fund_fen"]) for r in rows),
                    detail=f"{len(rows)} confirmed disputes in {year} so far",
                    settlement_ids=[int(r["settlement_id"]) for r in rows],
                    reversed_count=len(rows),
                )
            )
    return found


def _windows(rows: list[dict[str, Any]], window_days: int, min_visits: int) -> list[dict[str, Any]]:
    """The settlements that lie in some window of ``window_days`` days holding at least ``min_visits``."""
    days = [_day(r["visit_date"]) for r in rows]
    keep: set[int] = set()
    for first in days:
        inside = [k for k, d in enumerate(days) if first <= d <= first + timedelta(days=window_days - 1)]
        if len(inside) >= min_visits:
            keep.update(inside)
    return [r for k, r in enumerate(rows) if k in keep]


async def _link_settlements(params: Any, found: list[Signal], start: date, end: date) -> None:
    """Each member pattern names the settlements behind it (one read for every signalled member) and how many
    of them were reversed since; a duplicate receipt names its claims and takes its date, member and amount
    from them."""
    members = sorted({s.member_id for s in found if s.member_id is not None and not s.settlement_ids})
    rows = await queries.pattern_settlements(start, end, members) if members else []
    for s in found:
        if s.kind == "same_day_repeat":
            key = (s.member_id, s.facility_id, s.day)
            mine = [r for r in rows if (r["member"], r["facility"], _day(r["visit_date"])) == key]
            mine = [r for r in mine if r["kind"] == "counter"]
        elif s.kind == "split_visits":
            mine = [
                r
                for r in rows
                if (r["member"], r["facility"]) == (s.member_id, s.facility_id)
                and r["kind"] == "counter"
                and int(r["bill_fen"]) < params.signal_split_max_bill_fen
            ]
            mine = _windows(mine, params.signal_split_window_days, params.signal_split_min_visits)
        elif s.kind == "many_facilities":
            mine = [r for r in rows if r["member"] == s.member_id]
        else:
            continue
        s.settlement_ids = [int(r["id"]) for r in mine]
        s.reversed_count = sum(1 for r in mine if int(r["reversed"]))
    receipts = [s for s in found if s.kind == "duplicate_receipt"]
    claims_by_sha = await queries.receipt_claims([s.key.rsplit(":", 1)[1] for s in receipts])
    claims = await queries.claims_of(sorted({c for ids in claims_by_sha.values() for c in ids}))
    for s in receipts:
        s.claim_ids = claims_by_sha.get(s.key.rsplit(":", 1)[1], [])
        mine = [claims[c] for c in s.claim_ids if c in claims]
        if mine:
            latest = mine[-1]
            s.member_id = latest["member"]
            s.amount_fen = sum(int(c["bill_fen"]) for c in mine)
            submitted = latest["submitted_at"]
            if isinstance(submitted, datetime):
                s.day = submitted.astimezone(LOCAL_TZ).date()
    if receipts:
        names = await queries.member_names(sorted({s.member_id for s in receipts if s.member_id is not None}))
        for s in receipts:
            if s.member_id is not None:
                s.member_name_masked = mask_name(names.get(s.member_id, "?"))


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f} 元"


def _cn_day(day: date | None) -> str:
    return f"{day.year} 年 {day.month} 月 {day.day} 日" if day else ""


async def _describe(found: list[Signal]) -> None:
    """The Chinese text an officer reads: who (masked), where (names), when, how much, and what was reversed."""
    ids = sorted({i for s in found for i in (s.institution_id, s.facility_id) if i is not None})
    names = await queries.facility_names(ids)
    for s in found:
        s.institution_name = names.get(s.institution_id) if s.institution_id is not None else None
        s.facility_name = names.get(s.facility_id) if s.facility_id is not None else None
        who = s.member_name_masked or "参保人"
        where = s.facility_name or s.institution_name or "该机构"
        back = f"，其中 {s.reversed_count} 笔已冲正" if s.reversed_count and s.kind not in _ALL_REVERSED else ""
        if s.kind == "same_day_repeat":
            text = f"{_cn_day(s.day)}，{who} 在{where}同日结算 {s.count} 次，统筹支付 {_yuan(s.amount_fen)}{back}"
        elif s.kind == "split_visits":
            text = (
                f"{_cn_day(s.day)}起，{who} 在{where}短期内小额结算 {s.count} 次（疑似分解就诊），"
                f"统筹支付 {_yuan(s.amount_fen)}{back}"
            )
        elif s.kind == "many_facilities":
            text = f"{s.year} 年 {s.month} 月，{who} 在 {s.count} 家机构结算，统筹支付 {_yuan(s.amount_fen)}{back}"
        elif s.kind == "duplicate_receipt":
            claims = "、".join(f"第 {c} 号" for c in s.claim_ids)
            text = (
                f"{_cn_day(s.day)}，{who} 提交的报销票据与其他申请重复：同一票据用于 {s.count} 笔报销申请"
                f"（{claims}），申报金额合计 {_yuan(s.amount_fen)}"
            )
        elif s.kind == "facility_disputes":
            text = (
                f"{s.year} 年 {s.month} 月，{where}有 {s.count} 笔结算经参保人争议核实并冲正（{s.text_zh}），"
                f"涉及统筹支付 {_yuan(s.amount_fen)}"
            )
        elif s.kind == "member_disputes":
            text = (
                f"{_cn_day(s.day)}，{who} 本年度已有 {s.count} 笔结算争议经核实（最近一笔在{where}），"
                f"涉及统筹支付 {_yuan(s.amount_fen)}"
            )
        elif s.kind == "outlier_institution":
            text = f"{s.year} 年 {s.month} 月，{where}{s.text_zh}"
        elif s.kind in ITEM_KINDS:
            text = _item_text(s, who, where)
        else:
            text = s.text_zh or s.detail
        s.text_zh = text


_ALL_REVERSED = ("facility_disputes", "member_disputes")


async def _outliers(params: Any, year: int, month: int, unit_id: int | None) -> list[Signal]:
    figures = await queries.month_unit_figures(month_start(year, month), next_month_start(year, month))
    heads = await queries.headcounts([month_end(year, month)])
    peers: dict[str, dict[int, dict[str, Any]]] = {}
    for inst in await queries.institutions():
        peers.setdefault(inst["kind"], {})[inst["id"]] = inst
    found: list[Signal] = []
    period = f"{year}-{month:02d}"
    for group in peers.values():
        rates: dict[int, int | None] = {}
        costs: dict[int, int | None] = {}
        for i in group:
            f = figures.get(i, {})
            visits = f.get("visits", 0)
            bill = f.get("general_fee_fen", 0) + f.get("compliant_fen", 0) + f.get("non_compliant_fen", 0)
            rates[i] = capitation.ratio_bp(visits, heads.get(i, [0])[0])
            costs[i] = capitation.divide_half_up(bill, visits) if visits > 0 else None
        for metric, values, unit in (("visit_rate", rates, "bp"), ("cost_per_visit", costs, "fen")):
            for i, (side, median) in capitation.outliers(params, values).items():
                if unit_id is not None and i != unit_id:
                    continue
                found.append(
                    _signal(
                        "outlier_institution",
                        f"outlier_institution:{period}:{i}:{metric}",
                        year,
                        month,
                        institution_id=i,
                        facility_id=i,
                        count=int(values[i] or 0),
                        detail=f"{metric} {values[i]} {unit} is {side} against the peer median {median} {unit}",
                        text_zh=_outlier_text(metric, int(values[i] or 0), side, median),
                    )
                )
    return found


def _outlier_text(metric: str, value: int, side: str, median: int) -> str:
    """The figure against its peers' median, as the officer reads it (rates in percent, costs in yuan)."""
    word = "高于" if side == "high" else "低于"
    if metric == "visit_rate":
        return f"门诊就诊率 {value / 100:.2f}%，明显{word}同类机构中位数 {median / 100:.2f}%"
    return f"次均费用 {_yuan(value)}，明显{word}同类机构中位数 {_yuan(median)}"


def _review(row: dict[str, Any] | None, names: dict[str, str] | None = None) -> SignalReviewView | None:
    if row is None:
        return None
    return SignalReviewView(
        note=row["note"],
        reviewed_by=row["reviewed_by"],
        reviewed_at=row["reviewed_at"],
        reviewed_by_name=(names or {}).get(f"staff:{row['reviewed_by']}", ""),
    )


async def listing(
    clock: Clock,
    year: int,
    month: int,
    kind: SignalKind | None,
    unit_id: int | None,
    reviewed: bool | None,
    limit: int,
) -> SignalList:
    if local_today(clock) < month_start(year, month):
        raise month_not_ended(year, month)
    signals = await compute(year, month, kind, unit_id)
    reviews = await queries.signal_reviews([s.key for s in signals])
    names = await actor_names([f"staff:{r['reviewed_by']}" for r in reviews.values()])
    for s in signals:
        s.review = _review(reviews.get(s.key), names)
    counts = []
    for k in KINDS if kind is None else (kind,):
        of_kind = [s for s in signals if s.kind == k]
        done = sum(1 for s in of_kind if s.review is not None)
        counts.append(SignalCount(kind=k, total=len(of_kind), reviewed=done, open=len(of_kind) - done))
    if reviewed is not None:
        signals = [s for s in signals if (s.review is not None) == reviewed]
    return SignalList(year=year, month=month, counts=counts, items=signals[:limit])


def _no_signal() -> DomainError:
    return DomainError(
        "signal_not_found",
        "该信号不存在",
        "No such signal.",
        errors=[FieldError(field="signal_key", message="names no signal")],
    )


def _period_of(key: str) -> tuple[SignalKind, int, int]:
    """The kind and month a signal key names; a key of no signal's shape (or month) names no signal: 404, as for
    a well-formed key whose signal is not there."""
    parts = key.split(":")
    kind = parts[0]
    try:
        if kind == "same_day_repeat" and len(parts) == 4:
            day = date.fromisoformat(parts[3])
            return "same_day_repeat", day.year, day.month
        if kind in KINDS and len(parts) >= 3:
            year, month = (int(x) for x in parts[1].split("-"))
            if 1 <= month <= 12:
                return kind, year, month  # type: ignore[return-value]
    except ValueError:
        pass
    raise _no_signal()


async def mark_reviewed(clock: Clock, officer: Principal, key: str, note: str) -> Any:
    """Record the officer's review of one signal (once; audited). The signal must exist for its month."""
    kind, year, month = _period_of(key)
    signal = next((s for s in await compute(year, month, kind, None) if s.key == key), None)
    if signal is None:
        raise _no_signal()
    now = clock.now()
    async with write_transaction():
        row = await queries.insert_signal_review(
            {
                "signal_key": key,
                "kind": kind,
                "year": year,
                "month": month,
                "note": note.strip(),
                "reviewed_by": officer.staff_id,
                "reviewed_at": now,
            }
        )
        if row is None:
            raise DomainError("signal_already_reviewed", "该信号已复核", "This signal was already reviewed.")
        await record(now, officer.actor, "signal_reviewed", "signal_review", row["id"], {"kind": kind})
    signal.review = _review(row, await actor_names([f"staff:{officer.staff_id}"]))
    return signal


# --- review samples ---


async def draw_sample(clock: Clock, actor: str, year: int, month: int, seed: int | None) -> ReviewSampleView:
    """Draw the month's sample once (a second call returns it): each unit's share of settlements and claims."""
    params = policy_year(year)
    if local_today(clock) <= month_end(year, month):
        raise month_not_ended(year, month)
    if await queries.sample_row(year, month) is None:
        settlement_mark = await queries.settlement_watermark()
        claim_mark = await queries.claim_watermark()
        seed = seed or secrets.randbelow(2_147_483_645) + 1
        now = clock.now()
        async with write_transaction():
            row = await queries.insert_sample(
                {
                    "year": year,
                    "month": month,
                    "seed": seed,
                    "share_bp": params.review_sample_bp,
                    "minimum": params.review_sample_min,
                    "settlement_watermark": settlement_mark,
                    "claim_watermark": claim_mark,
                    "drawn_at": now,
                    "drawn_by": actor,
                }
            )
            if row is not None:
                items = await _draw(row)
                await queries.insert_sample_items([(row["id"], i.institution_id, i.kind, i.object_id) for i in items])
                await record(
                    now, actor, "review_sample", "review_sample", row["id"], {"seed": seed, "items": len(items)}
                )
    return await sample(year, month)


async def _draw(row: dict[str, Any]) -> list[SampleItem]:
    year, month = row["year"], row["month"]
    utc_start, utc_end = _utc_bounds(year, month)
    settlements = await queries.draw_settlements(
        month_start(year, month),
        next_month_start(year, month),
        row["settlement_watermark"],
        row["seed"],
        row["share_bp"],
        row["minimum"],
    )
    claims = await queries.draw_claims(
        utc_start, utc_end, row["claim_watermark"], row["seed"], row["share_bp"], row["minimum"]
    )
    items = [SampleItem(institution_id=r["unit"], kind="settlement", object_id=r["id"]) for r in settlements]
    items += [SampleItem(institution_id=r["unit"], kind="claim", object_id=r["id"]) for r in claims]
    return sorted(items, key=lambda i: (i.institution_id, i.kind, i.object_id))


async def sample(year: int, month: int) -> ReviewSampleView:
    row = await queries.sample_row(year, month)
    if row is None:
        raise DomainError("sample_not_drawn", "本月尚未抽样", "No review sample has been drawn for this month.")
    items = [
        SampleItem(institution_id=r["institution"], kind=r["kind"], object_id=r["object_id"])
        for r in await queries.sample_items(row["id"])
    ]
    utc_start, utc_end = _utc_bounds(year, month)
    sizes = await queries.population(
        month_start(year, month),
        next_month_start(year, month),
        row["settlement_watermark"],
        utc_start,
        utc_end,
        row["claim_watermark"],
    )
    institutions = [
        SampleInstitution(
            institution_id=unit,
            settlements=n[0],
            settlements_drawn=sum(1 for i in items if i.institution_id == unit and i.kind == "settlement"),
            claims=n[1],
            claims_drawn=sum(1 for i in items if i.institution_id == unit and i.kind == "claim"),
        )
        for unit, n in sorted(sizes.items())
    ]
    return ReviewSampleView(
        year=year,
        month=month,
        seed=row["seed"],
        share_bp=row["share_bp"],
        minimum=row["minimum"],
        settlement_watermark=row["settlement_watermark"],
        claim_watermark=row["claim_watermark"],
        drawn_at=row["drawn_at"],
        drawn_by=row["drawn_by"],
        institutions=institutions,
        items=items,
    )


async def check_sample(year: int, month: int) -> SampleCheck:
    """Draw again with the stored seed over the stored watermarks: an audit that the sample was not altered."""
    row = await queries.sample_row(year, month)
    if row is None:
        raise DomainError("sample_not_drawn", "本月尚未抽样", "No review sample has been drawn for this month.")
    stored = (await sample(year, month)).items
    again = await _draw(row)
    return SampleCheck(reproduced=stored == again, drawn=len(stored), redrawn=len(again))


# ---- R16 item signals over the bill lines (R18) -----------------------------------------------------------------
# ``repeated_item``: one national code billed to one member at one facility more than once on one day (in one visit
# or across visits: 重复收费); ``item_count_high``: a line whose count is ``signal_item_count_high_bp`` of its
# code's average in the month or more (among ``signal_item_count_min_lines`` lines); ``self_paid_as_compliant``:
# lines the facility sent as 01/02 that the catalogue makes self-paid (丙类 or no such entry). Each names its lines.
ITEM_KINDS: tuple[SignalKind, ...] = ("repeated_item", "item_count_high", "self_paid_as_compliant")


def _line(r: dict[str, Any]) -> SignalLine:
    return SignalLine(
        settlement_id=int(r["movement"]),
        line_no=int(r["line_no"]),
        code=r["code"],
        name=r["name"],
        category=r["category"],
        count=float(r["count"]),
        amount_fen=int(r["amount_fen"]),
    )


def _grouped(rows: list[dict[str, Any]], key: Any) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    return groups


def _item_signal(kind: SignalKind, key: str, year: int, month: int, rows: list[dict[str, Any]], **extra: Any) -> Signal:
    first = rows[0]
    signal = _signal(
        kind,
        key,
        year,
        month,
        institution_id=first["unit"],
        facility_id=first["facility"],
        member_id=first.get("member"),
        day=_day(first["visit_date"]),
        count=len(rows),
        amount_fen=sum(int(r["amount_fen"]) for r in rows),
        **extra,
    )
    signal.lines = [_line(r) for r in rows]
    signal.settlement_ids = sorted({int(r["movement"]) for r in rows})
    return signal


async def item_signals(
    params: Any, year: int, month: int, unit_id: int | None, wanted: tuple[SignalKind, ...]
) -> list[Signal]:
    """The R16 signals over bill lines (one query each), every one naming its lines."""
    start, end = month_start(year, month), next_month_start(year, month)
    period = f"{year}-{month:02d}"
    found: list[Signal] = []
    if "repeated_item" in wanted:
        rows = await queries.repeated_item_lines(start, end, unit_id)
        groups = _grouped(rows, lambda r: (r["member"], r["facility"], _day(r["visit_date"]), r["code"]))
        for (member, facility, day, code), mine in groups.items():
            key = f"repeated_item:{period}:{member}:{facility}:{day.isoformat()}:{code}"
            found.append(_item_signal("repeated_item", key, year, month, mine, detail=f"{code} x{len(mine)}"))
    if "item_count_high" in wanted:
        rows = await queries.high_count_lines(
            start, end, unit_id, params.signal_item_count_high_bp, params.signal_item_count_min_lines
        )
        for r in rows:
            key = f"item_count_high:{period}:{r['movement']}:{r['line_no']}"
            usual = float(r["usual"])
            found.append(
                _item_signal("item_count_high", key, year, month, [r], detail=f"{r['code']} usual {usual:.2f}")
            )
    if "self_paid_as_compliant" in wanted:
        rows = await queries.billed_as_compliant_lines(start, end, unit_id)
        for (facility, day), mine in _grouped(rows, lambda r: (r["facility"], _day(r["visit_date"]))).items():
            key = f"self_paid_as_compliant:{period}:{facility}:{day.isoformat()}"
            signal = _item_signal("self_paid_as_compliant", key, year, month, mine, detail=f"{len(mine)} lines")
            signal.member_id = None  # a facility's pattern: its lines may be of several members
            found.append(signal)
    return found


def _item_text(s: Signal, who: str, where: str) -> str:
    named = "、".join(f"#{x.settlement_id} 第 {x.line_no} 行 {x.name or x.code}×{x.count:g}" for x in s.lines[:10])
    more = f" 等 {len(s.lines)} 行" if len(s.lines) > 10 else ""
    if s.kind == "repeated_item":
        return (
            f"{_cn_day(s.day)}，{who} 在{where}同一项目被收费 {s.count} 次（{named}{more}），金额 {_yuan(s.amount_fen)}"
        )
    if s.kind == "item_count_high":
        return f"{_cn_day(s.day)}，{who} 在{where}的明细数量远超该项目本月常规（{s.detail}）：{named}"
    return (
        f"{_cn_day(s.day)}，{where}将 {s.count} 行丙类或目录外项目按甲/乙类上传（{named}{more}），"
        f"金额 {_yuan(s.amount_fen)}"
    )
