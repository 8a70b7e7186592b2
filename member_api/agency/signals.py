"""R16 abuse signals and the monthly review sample.

Signals (each one query in ``agency.queries``, thresholds from the policy year of the month):

- ``same_day_repeat``: ``signal_same_day_min_visits`` or more counter settlements of one member at one facility
  on one day (repeated charges 重复收费);
- ``split_visits``: ``signal_split_min_visits`` or more counter settlements of one member at one facility within
  ``signal_split_window_days`` days, each bill under ``signal_split_max_bill_fen`` (分解就诊);
- ``duplicate_receipt``: one receipt file (SHA-256) attached to two or more claims (forged or reused receipts);
- ``outlier_institution``: a primary institution whose visit rate or cost per visit in the month is above
  ``signal_outlier_high_bp`` or below ``signal_outlier_low_bp`` of the median of its peers (same kind);
- ``many_facilities``: a member settled at ``signal_many_facilities_min`` or more facilities in the month.

A signal has a stable key; an officer marks it reviewed once, with a note (audited). Members are shown by
internal id and masked name only.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time
from typing import Any

from member_api.agency import queries
from member_api.agency.schemas import (
    ReviewSampleView,
    SampleCheck,
    SampleInstitution,
    SampleItem,
    Signal,
    SignalCount,
    SignalKind,
    SignalList,
    SignalReviewView,
)
from member_api.agency.service import month_not_ended, policy_year
from member_api.audit.service import record
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
    names = await queries.member_names(sorted({s.member_id for s in found if s.member_id is not None}))
    for s in found:
        if s.member_id is not None:
            s.member_name_masked = mask_name(names.get(s.member_id, "?"))
    found.sort(key=lambda s: (KINDS.index(s.kind), s.key))
    return found


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
                    )
                )
    return found


def _review(row: dict[str, Any] | None) -> SignalReviewView | None:
    if row is None:
        return None
    return SignalReviewView(note=row["note"], reviewed_by=row["reviewed_by"], reviewed_at=row["reviewed_at"])


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
    for s in signals:
        s.review = _review(reviews.get(s.key))
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
    signal.review = _review(row)
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
