"""R13: capitation of primary institutions: package, monthly prepayment, clearing, year-end settlement."""

from __future__ import annotations

import msgspec

from member_api.policy.money import BP, apply_ratio, divide_half_up
from member_api.policy.parameters import PolicyYear


class Prepayment(msgspec.Struct, kw_only=True, frozen=True):
    paid_fen: int
    quality_guarantee_fen: int
    adjustment_fund_fen: int


class Clearing(msgspec.Struct, kw_only=True, frozen=True):
    cleared_fen: int
    withheld_fen: int
    paid_fen: int


class YearEnd(msgspec.Struct, kw_only=True, frozen=True):
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


def year_end(params: PolicyYear, package: int, actual_fen: int) -> YearEnd:
    """R13.4-5: at least 80% used earns the whole package; less is paid as actual; overspend is not paid."""
    if actual_fen * BP >= package * params.year_end_threshold_bp:
        return YearEnd(
            paid_fen=package,
            reward_fen=max(0, package - actual_fen),
            returned_to_fund_fen=0,
            uncompensated_overspend_fen=max(0, actual_fen - package),
        )
    return YearEnd(
        paid_fen=actual_fen, reward_fen=0, returned_to_fund_fen=package - actual_fen, uncompensated_overspend_fen=0
    )
