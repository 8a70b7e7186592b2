"""Visit reimbursement (R3, R4, R6, R7): the fund's share of a bill within the annual caps.

A bill is either itemised (lines valued by the catalogue, R18: ``reimburse_lines``) or, for the transition, three
typed totals (``reimburse``); both pay the general diagnosis fee by ``general_fee_line`` (R6), compliant amounts by
``compliant_ratio_bp`` (R7) rounded per line, and cap the sum by ``capped_fund`` (R4).
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from member_api.policy.fee_lines import ValuedLine, totals
from member_api.policy.money import apply_ratio
from member_api.policy.parameters import PolicyYear


class Reason(StrEnum):
    NOT_ELIGIBLE = "not_eligible"
    NOT_DESIGNATED = "not_designated"
    REFERRAL_OUT_OF_CITY = "referral_out_of_city"
    NON_COMPLIANT = "non_compliant"
    GENERAL_FEE_NOT_COVERED = "general_fee_not_covered"
    GENERAL_FEE_ABOVE_STANDARD = "general_fee_above_standard"
    ANNUAL_CAP_REACHED = "annual_cap_reached"
    OUT_OF_CITY_CAP_REACHED = "out_of_city_cap_reached"


class FacilityFacts(msgspec.Struct, kw_only=True, frozen=True):
    kind: str
    tier: str
    in_city: bool


class Coverage(msgspec.Struct, kw_only=True, frozen=True):
    """How the member came to this facility: what R3 and R7 decide on."""

    eligible: bool
    designated: bool
    emergency: bool = False
    referral_approved: bool = False
    newborn_before_enrollment: bool = False
    """R5: a newborn's care from birth to enrollment, claimed under R9: covered wherever it was incurred."""


class Bill(msgspec.Struct, kw_only=True, frozen=True):
    general_fee_fen: int = 0
    compliant_fen: int = 0
    non_compliant_fen: int = 0

    @property
    def total_fen(self) -> int:
        return self.general_fee_fen + self.compliant_fen + self.non_compliant_fen


class AccountState(msgspec.Struct, kw_only=True, frozen=True):
    used_fen: int = 0
    used_out_of_city_fen: int = 0


class Line(msgspec.Struct, kw_only=True, frozen=True):
    item: str
    amount_fen: int
    ratio_bp: int
    fund_fen: int
    reasons: list[str] = []


class PaidLine(ValuedLine, kw_only=True, frozen=True):
    """A catalogue-valued line (R18) with the fund's share of its compliant part (R6 or R7), before the cap (R4)."""

    ratio_bp: int
    fund_fen: int


class Reimbursement(msgspec.Struct, kw_only=True, frozen=True):
    fund_fen: int
    member_fen: int
    lines: list[Line]
    """The three totals' lines (general fee, compliant, non-compliant); for an itemised bill, summed from ``items``."""
    reasons: list[str]
    out_of_city: bool
    items: list[PaidLine] = []
    """An itemised bill's lines (R18); empty for a bill typed as three totals (manual entry)."""

    def remaining_after(self, params: PolicyYear, account: AccountState) -> tuple[int, int]:
        used = account.used_fen + self.fund_fen
        used_ooc = account.used_out_of_city_fen + (self.fund_fen if self.out_of_city else 0)
        return remaining_caps(params, AccountState(used_fen=used, used_out_of_city_fen=used_ooc))


def remaining_caps(params: PolicyYear, account: AccountState) -> tuple[int, int]:
    """(remaining annual cap, remaining out-of-city cap); the sub-cap never exceeds the annual one."""
    annual = max(0, params.annual_cap_fen - account.used_fen)
    out_of_city = max(0, min(annual, params.out_of_city_cap_fen - account.used_out_of_city_fen))
    return annual, out_of_city


def general_fee_line(params: PolicyYear, facility: FacilityFacts, fee_fen: int, counted_fen: int = 0) -> Line:
    """R6: the fund pays its ratio of the standard per-visit fee of the facility's kind, no more.

    ``counted_fen``: what of the visit's general fee earlier lines already brought (an itemised bill may carry the
    fee's service line more than once; the standard is per visit).
    """
    standard = params.general_fee_standard_fen.get(facility.kind)
    if standard is None:
        reasons = [Reason.GENERAL_FEE_NOT_COVERED.value] if fee_fen else []
        return Line(item="general_fee", amount_fen=fee_fen, ratio_bp=0, fund_fen=0, reasons=reasons)
    standard = max(0, standard - counted_fen)
    covered = min(fee_fen, standard)
    reasons = [Reason.GENERAL_FEE_ABOVE_STANDARD.value] if fee_fen > standard else []
    fund = apply_ratio(covered, params.general_fee_ratio_bp)
    return Line(
        item="general_fee", amount_fen=fee_fen, ratio_bp=params.general_fee_ratio_bp, fund_fen=fund, reasons=reasons
    )


def _refusal(bill: Bill, reason: Reason, out_of_city: bool) -> Reimbursement:
    lines = [
        Line(item=item, amount_fen=amount, ratio_bp=0, fund_fen=0, reasons=[reason.value])
        for item, amount in (
            ("general_fee", bill.general_fee_fen),
            ("compliant", bill.compliant_fen),
            ("non_compliant", bill.non_compliant_fen),
        )
    ]
    return Reimbursement(
        fund_fen=0, member_fen=bill.total_fen, lines=lines, reasons=[reason.value], out_of_city=out_of_city
    )


def refusal_reason(coverage: Coverage, out_of_city: bool) -> Reason | None:
    """R1, R3, R10: why the fund pays nothing for this visit, or None when it may pay.

    Outside designated care only emergency and rescue, an approved referral or a newborn's care before enrollment
    (R5) are paid; a referral reaches Shaoguan designated institutions only.
    """
    if not coverage.eligible:
        return Reason.NOT_ELIGIBLE
    if coverage.referral_approved and out_of_city and not coverage.emergency:
        return Reason.REFERRAL_OUT_OF_CITY
    if not (
        coverage.designated or coverage.emergency or coverage.referral_approved or coverage.newborn_before_enrollment
    ):
        return Reason.NOT_DESIGNATED
    return None


def compliant_ratio_bp(params: PolicyYear, facility: FacilityFacts) -> int:
    """R7: by the tier of the facility of care (a designated one is primary: 70%; a referral (R10: to another primary
    institution too) or an emergency pays the tier ratio of the facility where the care took place)."""
    return params.compliant_ratio_bp.get(facility.tier, 0)


def capped_fund(
    params: PolicyYear, gross_fen: int, out_of_city: bool, account: AccountState
) -> tuple[int, Reason | None]:
    """R4: the summed lines, capped by the remaining annual cap and, outside the city, the out-of-city sub-cap."""
    annual_left, ooc_left = remaining_caps(params, account)
    if out_of_city and gross_fen > ooc_left and ooc_left < annual_left:
        return ooc_left, Reason.OUT_OF_CITY_CAP_REACHED
    if gross_fen > annual_left:
        return annual_left, Reason.ANNUAL_CAP_REACHED
    return gross_fen, None


def reimburse(
    params: PolicyYear, facility: FacilityFacts, coverage: Coverage, bill: Bill, account: AccountState
) -> Reimbursement:
    """Each line rounded half up, then summed, then capped by the annual and out-of-city caps (R4)."""
    out_of_city = not facility.in_city
    refused = refusal_reason(coverage, out_of_city)
    if refused is not None:
        return _refusal(bill, refused, out_of_city)
    ratio = compliant_ratio_bp(params, facility)
    lines = [
        general_fee_line(params, facility, bill.general_fee_fen),
        Line(
            item="compliant",
            amount_fen=bill.compliant_fen,
            ratio_bp=ratio,
            fund_fen=apply_ratio(bill.compliant_fen, ratio),
        ),
        Line(
            item="non_compliant",
            amount_fen=bill.non_compliant_fen,
            ratio_bp=0,
            fund_fen=0,
            reasons=[Reason.NON_COMPLIANT.value] if bill.non_compliant_fen else [],
        ),
    ]
    reasons = [reason for line in lines for reason in line.reasons]
    fund, capped = capped_fund(params, sum(line.fund_fen for line in lines), out_of_city, account)
    if capped is not None:
        reasons.append(capped.value)
    return Reimbursement(
        fund_fen=fund, member_fen=bill.total_fen - fund, lines=lines, reasons=reasons, out_of_city=out_of_city
    )


def _paid(line: ValuedLine, ratio_bp: int, fund_fen: int, reasons: list[str]) -> PaidLine:
    return PaidLine(
        **{f: getattr(line, f) for f in line.__struct_fields__ if f != "reasons"},
        reasons=[*line.reasons, *reasons],
        ratio_bp=ratio_bp,
        fund_fen=fund_fen,
    )


def reimburse_lines(
    params: PolicyYear, facility: FacilityFacts, coverage: Coverage, lines: list[ValuedLine], account: AccountState
) -> Reimbursement:
    """An itemised bill (R18): each line's compliant part paid at R7's ratio, the general diagnosis fee's lines under
    R6, each rounded half up, then summed and capped (R4) exactly as a bill of three totals."""
    out_of_city = not facility.in_city
    refused = refusal_reason(coverage, out_of_city)
    ratio = compliant_ratio_bp(params, facility)
    items: list[PaidLine] = []
    general_counted = 0
    for line in lines:
        if refused is not None:
            items.append(_paid(line, 0, 0, [refused.value]))
        elif line.general_fee:
            fee = general_fee_line(params, facility, line.compliant_fen, general_counted)
            general_counted += line.compliant_fen
            items.append(_paid(line, fee.ratio_bp, fee.fund_fen, list(fee.reasons)))
        else:
            items.append(_paid(line, ratio if line.compliant_fen else 0, apply_ratio(line.compliant_fen, ratio), []))
    bill = totals(lines)
    general_fund = sum(i.fund_fen for i in items if i.general_fee)
    compliant_fund = sum(i.fund_fen for i in items if not i.general_fee)
    general_reasons = sorted({r for i in items if i.general_fee for r in i.reasons if r in _GENERAL_FEE_REASONS})
    summary = [
        Line(
            item="general_fee",
            amount_fen=bill.general_fee_fen,
            ratio_bp=0 if refused else params.general_fee_ratio_bp,
            fund_fen=general_fund,
            reasons=[refused.value] if refused and bill.general_fee_fen else general_reasons,
        ),
        Line(
            item="compliant",
            amount_fen=bill.compliant_fen,
            ratio_bp=0 if refused else ratio,
            fund_fen=compliant_fund,
            reasons=[refused.value] if refused and bill.compliant_fen else [],
        ),
        Line(
            item="non_compliant",
            amount_fen=bill.non_compliant_fen,
            ratio_bp=0,
            fund_fen=0,
            reasons=[(refused or Reason.NON_COMPLIANT).value] if bill.non_compliant_fen else [],
        ),
    ]
    total = bill.general_fee_fen + bill.compliant_fen + bill.non_compliant_fen
    if refused is not None:
        return Reimbursement(
            fund_fen=0, member_fen=total, lines=summary, reasons=[refused.value], out_of_city=out_of_city, items=items
        )
    reasons = [reason for line in summary for reason in line.reasons]
    fund, capped = capped_fund(params, general_fund + compliant_fund, out_of_city, account)
    if capped is not None:
        reasons.append(capped.value)
    return Reimbursement(
        fund_fen=fund, member_fen=total - fund, lines=summary, reasons=reasons, out_of_city=out_of_city, items=items
    )


_GENERAL_FEE_REASONS = frozenset({Reason.GENERAL_FEE_NOT_COVERED.value, Reason.GENERAL_FEE_ABOVE_STANDARD.value})
