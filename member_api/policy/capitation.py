"""R13: capitation of primary institutions: package, monthly prepayment, clearing, the year close (final account)."""

from __future__ import annotations

from datetime import date, timedelta

import msgspec

from member_api.policy.money import BP, apply_ratio, divide_half_up
from member_api.policy.parameters import GradeBand, PolicyYear


class Prepayment(msgspec.Struct, kw_only=True, frozen=True):
    paid_fen: int
    quality_guarantee_fen: int
    adjustment_fund_fen: int


class Clearing(msgspec.Struct, kw_only=True, frozen=True):
    cleared_fen: int
    withheld_fen: int
    paid_fen: int


class PackageOutcome(msgspec.Struct, kw_only=True, frozen=True):
    paid_fen: int
    reward_fen: int
    returned_to_fund_fen: int
    uncompensated_overspend_fen: int


def package_fen(params: PolicyYear, headcount: int) -> int:
    """R13.1: signed-up headcount × the per-member standard (station sign-ups count for their institution)."""
    return headcount * params.funding_per_member_fen


def monthly_prepayment(params: PolicyYear, last_month_headcount: int) -> Prepayment:
    """R13.2/E8: last month's headcount × standard/12 × 80%; the rest is guarantee and adjustment fund."""
    monthly = last_month_headcount * params.funding_per_member_fen
    return Prepayment(
        paid_fen=divide_half_up(monthly * params.prepayment_bp, 12 * BP),
        quality_guarantee_fen=divide_half_up(monthly * params.quality_guarantee_bp, 12 * BP),
        adjustment_fund_fen=divide_half_up(monthly * params.adjustment_fund_bp, 12 * BP),
    )


def monthly_clearing(params: PolicyYear, prepayment_fen: int, actual_fund_fen: int) -> Clearing:
    """R13.3: cleared by actual fund payments, at most the prepayment; 5% of it withheld until year end."""
    cleared = min(max(actual_fund_fen, 0), prepayment_fen)
    withheld = apply_ratio(cleared, params.clearing_withhold_bp)
    return Clearing(cleared_fen=cleared, withheld_fen=withheld, paid_fen=cleared - withheld)


def package_outcome(params: PolicyYear, package: int, actual_fen: int) -> PackageOutcome:
    """R13.4-5: at least 80% used earns the whole package; less is paid as actual; overspend is not paid."""
    if actual_fen * BP >= package * params.year_end_threshold_bp:
        return PackageOutcome(
            paid_fen=package,
            reward_fen=max(0, package - actual_fen),
            returned_to_fund_fen=0,
            uncompensated_overspend_fen=max(0, actual_fen - package),
        )
    return PackageOutcome(
        paid_fen=actual_fen, reward_fen=0, returned_to_fund_fen=package - actual_fen, uncompensated_overspend_fen=0
    )


# --- Monthly close (R13.2-3): the figures one institution's statement holds, and late movements re-cleared ---


class MonthStatement(msgspec.Struct, kw_only=True, frozen=True):
    """The books of one month for one institution: this month's prepayment and last month's clearing."""

    prepayment: Prepayment
    clearing: Clearing
    clearing_balance_fen: int
    """Cleared minus withheld minus last month's prepayment: paid (> 0) or recovered (< 0) with this close."""
    payable_fen: int
    """What moves with this close: prepayment + clearing balance + re-clearing of late movements."""


def month_statement(
    params: PolicyYear,
    cleared_params: PolicyYear,
    prepayment_headcount: int,
    cleared_prepayment_fen: int,
    cleared_actual_fen: int,
    adjustment_fen: int = 0,
) -> MonthStatement:
    """R13.2/R13.3: prepay this month by last month's headcount; clear last month by its actual fund payments.

    ``cleared_params`` are the parameters of the month being cleared (December is cleared in January).
    """
    prepayment = monthly_prepayment(params, prepayment_headcount)
    clearing = monthly_clearing(cleared_params, cleared_prepayment_fen, cleared_actual_fen)
    balance = clearing.paid_fen - cleared_prepayment_fen
    return MonthStatement(
        prepayment=prepayment,
        clearing=clearing,
        clearing_balance_fen=balance,
        payable_fen=prepayment.paid_fen + balance + adjustment_fen,
    )


def reclear(params: PolicyYear, prepayment_fen: int, actual_before_fen: int, actual_after_fen: int) -> Clearing:
    """R13 interpretation: a movement that reaches an already cleared month changes that month's clearing by
    the difference between clearing it again and the clearing it had; the closed month itself never changes."""
    before = monthly_clearing(params, prepayment_fen, actual_before_fen)
    after = monthly_clearing(params, prepayment_fen, actual_after_fen)
    return Clearing(
        cleared_fen=after.cleared_fen - before.cleared_fen,
        withheld_fen=after.withheld_fen - before.withheld_fen,
        paid_fen=after.paid_fen - before.paid_fen,
    )


# --- Year end (R13.4-5) ---


class YearAccount(msgspec.Struct, kw_only=True, frozen=True):
    package_fen: int
    actual_fen: int
    threshold_reached: bool
    due_fen: int
    reward_fen: int
    returned_to_fund_fen: int
    uncompensated_overspend_fen: int
    cleared_fen: int
    withheld_fen: int
    guarantee_release_bp: int
    guarantee_released_fen: int
    guarantee_forfeited_fen: int
    fund_allocated_fen: int
    """Adjustment-fund allocations of the year, already paid to the institution during the year."""
    balance_fen: int
    """Paid (> 0) or recovered (< 0) at year end: due - cleared - allocated + released guarantee."""


def year_account(
    params: PolicyYear,
    headcount: int,
    actual_fen: int,
    cleared_fen: int,
    withheld_fen: int,
    *,
    release_bp: int | None = None,
    allocated_fen: int = 0,
) -> YearAccount:
    """R13.4-5 with the monthly clearings: the year's due amount, less what the clearings already paid (the
    cleared amounts, of which the withheld 5% is still held) and what the adjustment fund allocated during the
    year, plus the released share of the withheld guarantee.

    ``release_bp`` is the assessment's release percentage (``grade_for``); without an assessment the year's
    default ``quality_guarantee_release_bp``. The facility ends the year with ``due - withheld + released``.
    """
    package = package_fen(params, headcount)
    outcome = package_outcome(params, package, max(actual_fen, 0))
    bp = params.quality_guarantee_release_bp if release_bp is None else release_bp
    released = apply_ratio(max(withheld_fen, 0), bp)
    return YearAccount(
        package_fen=package,
        actual_fen=actual_fen,
        threshold_reached=max(actual_fen, 0) * BP >= package * params.year_end_threshold_bp,
        due_fen=outcome.paid_fen,
        reward_fen=outcome.reward_fen,
        returned_to_fund_fen=outcome.returned_to_fund_fen,
        uncompensated_overspend_fen=outcome.uncompensated_overspend_fen,
        cleared_fen=cleared_fen,
        withheld_fen=withheld_fen,
        guarantee_release_bp=bp,
        guarantee_released_fen=released,
        guarantee_forfeited_fen=withheld_fen - released,
        fund_allocated_fen=allocated_fen,
        balance_fen=outcome.paid_fen - cleared_fen - allocated_fen + released,
    )


def grade_for(params: PolicyYear, score: int) -> GradeBand:
    """R13.4: the band of the year's assessment table a score (0-100) reaches: its grade and release share."""
    bands = sorted(params.quality_grades, key=lambda b: -b.min_score)
    return next((b for b in bands if score >= b.min_score), bands[-1])


def allocation_room(prepayment_fen: int, actual_fen: int, allocated_fen: int) -> int:
    """R13.2 interpretation: what the adjustment fund may still allocate to one month of one institution: the
    amount its actual fund payments exceeded its prepayment by, less what was allocated to that month already."""
    return max(0, actual_fen - prepayment_fen - allocated_fen)


def disputes_signalled(params: PolicyYear, disputes: int, visits: int) -> bool:
    """P2/R16: a unit's month is signalled when it has at least ``signal_dispute_min`` confirmed disputes and
    they reach ``signal_dispute_rate_bp`` of its visits."""
    return disputes >= params.signal_dispute_min and disputes * BP >= max(visits, 0) * params.signal_dispute_rate_bp


def per_thousand_tenths(count: int, visits: int) -> int | None:
    """P2/R15: ``count`` per 1,000 visits in tenths (12 = 1.2 per 1,000), half up; None without visits."""
    if visits <= 0:
        return None
    return divide_half_up(count * 10_000, visits)


# --- Calendar helpers of the agency's month ---


def month_start(year: int, month: int) -> date:
    return date(year, month, 1)


def month_end(year: int, month: int) -> date:
    """The last day of the month: headcount snapshots are taken as of this day (R13.1)."""
    return next_month_start(year, month) - timedelta(days=1)


def next_month_start(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year, month - 1) if month > 1 else (year - 1, 12)


def report_due(params: PolicyYear, year: int, month: int) -> date:
    """R14: last month's report is confirmed by the ``report_due_day`` of the following month."""
    following = next_month_start(year, month)
    return following.replace(day=params.report_due_day)


# --- R15 indicators ---


def ratio_bp(numerator: int, denominator: int) -> int | None:
    """numerator / denominator in basis points, half up; None when there is nothing to divide by."""
    if denominator <= 0:
        return None
    return divide_half_up(numerator * BP, denominator)


class Indicators(msgspec.Struct, kw_only=True, frozen=True):
    headcount: int
    visits: int
    visit_rate_bp: int | None
    referrals: int
    referral_rate_bp: int | None
    bill_total_fen: int
    fund_fen: int
    avg_cost_per_visit_fen: int | None
    previous_avg_cost_per_visit_fen: int | None
    avg_cost_growth_bp: int | None
    general_fee_share_bp: int | None
    compliant_share_bp: int | None
    non_compliant_share_bp: int | None


def indicators(
    *,
    headcount: int,
    visits: int,
    referrals: int,
    general_fee_fen: int,
    compliant_fen: int,
    non_compliant_fen: int,
    fund_fen: int,
    previous_visits: int,
    previous_bill_total_fen: int,
) -> Indicators:
    """R15: visit rate (visits per signed-up member), referral rate (referrals per visit), average cost per visit
    and its growth over the previous year, cost structure (shares of the bill), signed-up headcount."""
    bill = general_fee_fen + compliant_fen + non_compliant_fen
    avg = divide_half_up(bill, visits) if visits > 0 else None
    previous = divide_half_up(previous_bill_total_fen, previous_visits) if previous_visits > 0 else None
    return Indicators(
        headcount=headcount,
        visits=visits,
        visit_rate_bp=ratio_bp(visits, headcount),
        referrals=referrals,
        referral_rate_bp=ratio_bp(referrals, visits),
        bill_total_fen=bill,
        fund_fen=fund_fen,
        avg_cost_per_visit_fen=avg,
        previous_avg_cost_per_visit_fen=previous,
        avg_cost_growth_bp=ratio_bp(avg - previous, previous) if avg is not None and previous else None,
        general_fee_share_bp=ratio_bp(general_fee_fen, bill),
        compliant_share_bp=ratio_bp(compliant_fen, bill),
        non_compliant_share_bp=ratio_bp(non_compliant_fen, bill),
    )


# --- R16 outliers among peers, review sampling ---


def outliers(params: PolicyYear, values: dict[int, int | None]) -> dict[int, tuple[str, int]]:
    """R16: {id: ("high" | "low", peer median)} for values above ``high_bp`` or below ``low_bp`` of the peers'
    median; nothing when fewer than ``min_peers`` have a value (too few to compare)."""
    present = sorted(v for v in values.values() if v is not None)
    if len(present) < params.signal_outlier_min_peers:
        return {}
    mid = len(present) // 2
    median = present[mid] if len(present) % 2 else divide_half_up(present[mid - 1] + present[mid], 2)
    found: dict[int, tuple[str, int]] = {}
    for key, value in values.items():
        if value is None:
            continue
        if value * BP > median * params.signal_outlier_high_bp:
            found[key] = ("high", median)
        elif value * BP < median * params.signal_outlier_low_bp:
            found[key] = ("low", median)
    return found


def sample_size(params: PolicyYear, population: int) -> int:
    """How many of an institution's ``population`` items the month's review sample draws (share rounded up,
    at least ``review_sample_min``, never more than there are)."""
    if population <= 0:
        return 0
    share = -(-population * params.review_sample_bp // BP)
    return min(population, max(params.review_sample_min, share))
