"""Bill lines valued by the catalogue (R18): what of each line is over-limit, up-front self-pay, self-paid, compliant.

A line is valued with the catalogue entry of its national code valid on the date of care (``entry_on``); the fund
share of its compliant part (R6 for the general diagnosis fee, R7 for everything else) is ``reimbursement``'s, so
the ratio rules stay written once. Field meanings follow the national fee-detail interface (2204):
``overlmt_amt`` = ``over_limit_fen``, ``preselfpay_amt`` = ``preselfpay_fen``, ``fulamt_ownpay_amt`` =
``selfpay_fen``, ``inscp_scp_amt`` = ``compliant_fen``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

import msgspec

from member_api.policy.money import BP, apply_ratio

MAX_LINES = 200
"""Most lines one bill (quote, settlement, claim visit) may carry; more is refused naming the first extra line."""
MAX_COUNT = 100_000
COUNT_DECIMALS = 2
PRICE_DECIMALS = 0
"""Counts carry at most 2 decimals; unit prices are integer fen (the API's money is fen, DOMAIN.md)."""


class Kind(StrEnum):
    DRUG = "drug"
    CONSUMABLE = "consumable"
    SERVICE = "service"


class Category(StrEnum):
    """``chrgitm_lv``: 01 甲类 fully in scope, 02 乙类 in scope after an up-front self-pay share, 03 丙类 self-paid."""

    A = "01"
    B = "02"
    C = "03"


class LineReason(StrEnum):
    """Why (part of) a line is the member's own: one code per reason, worded at the edge."""

    NOT_IN_CATALOGUE = "not_in_catalogue"
    NOT_VALID_ON_DATE = "not_valid_on_date_of_care"
    SELF_PAID_CATEGORY = "category_self_paid"
    OVER_PRICE_CEILING = "over_price_ceiling"
    UP_FRONT_SELF_PAY = "up_front_self_pay"
    FACILITY_CODE_UNMAPPED = "facility_code_unmapped"
    BILLED_AS_COMPLIANT = "billed_as_compliant"
    """The facility's system sent the line as 01/02 while the catalogue says 03 (or knows no such code): R16."""


class Entry(msgspec.Struct, kw_only=True, frozen=True):
    """One version of a catalogue entry: valid from ``valid_from`` to ``valid_to`` (inclusive, open when None)."""

    code: str
    name: str
    kind: str
    category: str
    selfpay_prop_bp: int = 0
    """乙类's up-front self-pay share (``selfpay_prop``) in basis points."""
    price_ceiling_fen: int | None = None
    """``pric_uplmt_amt``: the highest unit price the scheme recognises, when one applies."""
    valid_from: date
    valid_to: date | None = None

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class FeeLine(msgspec.Struct, kw_only=True, frozen=True):
    """A bill line as the facility sends it: its national code (a facility code is resolved before valuing)."""

    line_no: int
    code: str
    count: Decimal
    unit_price_fen: Decimal | int
    facility_code: str | None = None
    claimed_category: str | None = None
    """The category the facility's system gave the line, when it sends one (the national fee detail does)."""


class ValuedLine(msgspec.Struct, kw_only=True, frozen=True):
    """A line valued by the catalogue; ``amount = over_limit + preselfpay + selfpay + compliant``."""

    line_no: int
    code: str
    name: str
    kind: str | None
    category: str
    """The entry's ``chrgitm_lv``; a code outside the catalogue on the date of care is ``03`` (self-paid)."""
    count: Decimal
    unit_price_fen: int | Decimal
    amount_fen: int
    over_limit_fen: int
    preselfpay_fen: int
    selfpay_fen: int
    compliant_fen: int
    price_ceiling_fen: int | None = None
    selfpay_prop_bp: int = 0
    facility_code: str | None = None
    general_fee: bool = False
    """The general diagnosis fee's service line: its fund share follows R6, not R7."""
    reasons: list[str] = []

    @property
    def own_fen(self) -> int:
        """What of the line is the member's whatever the ratio: over-limit, up-front self-pay and self-paid."""
        return self.over_limit_fen + self.preselfpay_fen + self.selfpay_fen


class LineProblem(msgspec.Struct, kw_only=True, frozen=True):
    """Bad input on one line (a 422 names it): ``code`` is a stable reason, ``field`` the line's field."""

    line_no: int
    index: int
    field: str
    code: str


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_amount_fen(unit_price_fen: Decimal | int, count: Decimal) -> int:
    """R18: amount = unit price x count, rounded half up to the fen."""
    return _half_up(Decimal(unit_price_fen) * count)


def entry_on(versions: Iterable[Entry], day: date) -> Entry | None:
    """R18: the version of a code valid on the date of care (the latest start wins where versions overlap)."""
    valid = [v for v in versions if v.valid_on(day)]
    return max(valid, key=lambda v: v.valid_from) if valid else None


def value_line(
    line: FeeLine, versions: Sequence[Entry], day: date, general_fee_codes: Iterable[str] = ()
) -> ValuedLine:
    """R18 (see ``_value``); a line the facility sent as 01/02 that the catalogue makes self-paid also carries
    ``billed_as_compliant`` (an R16 signal names it)."""
    valued = _value(line, versions, day, general_fee_codes)
    if line.claimed_category in (Category.A, Category.B) and valued.category == Category.C:
        return msgspec.structs.replace(valued, reasons=[*valued.reasons, LineReason.BILLED_AS_COMPLIANT.value])
    return valued


def _value(line: FeeLine, versions: Sequence[Entry], day: date, general_fee_codes: Iterable[str]) -> ValuedLine:
    """R18: value one line with the catalogue entry of its code valid on ``day`` (``versions``: all the code's).

    Over the ceiling the unit price's excess is over-limit; of the rest 01 is compliant, 02 is compliant after its
    ``selfpay_prop`` (rounded half up), 03 and codes not in the catalogue on the date of care are self-paid.
    """
    amount = line_amount_fen(line.unit_price_fen, line.count)
    entry = entry_on(versions, day)
    base = {
        "line_no": line.line_no,
        "code": line.code,
        "count": line.count,
        "unit_price_fen": line.unit_price_fen,
        "amount_fen": amount,
        "facility_code": line.facility_code,
    }
    if entry is None:
        reason = LineReason.NOT_VALID_ON_DATE if versions else LineReason.NOT_IN_CATALOGUE
        if not line.code:
            reason = LineReason.FACILITY_CODE_UNMAPPED
        name = max(versions, key=lambda v: v.valid_from).name if versions else ""
        return ValuedLine(
            **base,
            name=name,
            kind=versions[0].kind if versions else None,
            category=Category.C.value,
            over_limit_fen=0,
            preselfpay_fen=0,
            selfpay_fen=amount,
            compliant_fen=0,
            reasons=[reason.value],
        )
    reasons: list[str] = []
    over = 0
    ceiling = entry.price_ceiling_fen
    if ceiling is not None and Decimal(line.unit_price_fen) > ceiling:
        over = min(amount, _half_up((Decimal(line.unit_price_fen) - ceiling) * line.count))
        reasons.append(LineReason.OVER_PRICE_CEILING.value)
    rest = amount - over
    pre = selfpay = compliant = 0
    if entry.category == Category.A:
        compliant = rest
    elif entry.category == Category.B:
        pre = apply_ratio(rest, entry.selfpay_prop_bp)
        compliant = rest - pre
        if pre:
            reasons.append(LineReason.UP_FRONT_SELF_PAY.value)
    else:
        selfpay = rest
        reasons.append(LineReason.SELF_PAID_CATEGORY.value)
    return ValuedLine(
        **base,
        name=entry.name,
        kind=entry.kind,
        category=entry.category,
        over_limit_fen=over,
        preselfpay_fen=pre,
        selfpay_fen=selfpay,
        compliant_fen=compliant,
        price_ceiling_fen=ceiling,
        selfpay_prop_bp=entry.selfpay_prop_bp if entry.category == Category.B else 0,
        general_fee=entry.code in set(general_fee_codes),
        reasons=reasons,
    )


def value_lines(
    lines: Sequence[FeeLine], catalogue: dict[str, list[Entry]], day: date, general_fee_codes: Iterable[str] = ()
) -> list[ValuedLine]:
    """Every line valued (R18) with ``catalogue``: all versions of each code the lines name (absent = unknown)."""
    codes = frozenset(general_fee_codes)
    return [value_line(line, catalogue.get(line.code, []), day, codes) for line in lines]


def _decimals(value: Decimal | int) -> int:
    exponent = Decimal(value).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 99


def line_problems(
    lines: Sequence[FeeLine],
    max_lines: int = MAX_LINES,
    count_decimals: int = COUNT_DECIMALS,
    price_decimals: int = PRICE_DECIMALS,
) -> list[LineProblem]:
    """Bad input, line by line (unknown codes are not bad input: they are self-paid lines).

    Non-positive counts or prices, more decimals than allowed, a line number used twice, lines beyond the most a
    bill may carry: each is a problem naming the line, so the edge answers 422 saying which line is wrong.
    """
    problems: list[LineProblem] = []
    seen: set[int] = set()
    for index, line in enumerate(lines):

        def problem(field: str, code: str, line: FeeLine = line, index: int = index) -> None:
            problems.append(LineProblem(line_no=line.line_no, index=index, field=field, code=code))

        if index >= max_lines:
            problem("line_no", "too_many_lines")
            break
        if line.line_no in seen:
            problem("line_no", "duplicate_line_no")
        seen.add(line.line_no)
        if not Decimal(line.count).is_finite() or line.count <= 0:
            problem("count", "not_positive")
        elif line.count > MAX_COUNT:
            problem("count", "too_large")
        elif _decimals(line.count) > count_decimals:
            problem("count", "too_many_decimals")
        if not Decimal(line.unit_price_fen).is_finite() or line.unit_price_fen <= 0:
            problem("unit_price_fen", "not_positive")
        elif _decimals(line.unit_price_fen) > price_decimals:
            problem("unit_price_fen", "too_many_decimals")
    return problems


class Totals(msgspec.Struct, kw_only=True, frozen=True):
    """The three totals a bill used to be typed as, derived from its lines (the ledger's columns)."""

    general_fee_fen: int
    compliant_fen: int
    non_compliant_fen: int


def totals(lines: Iterable[ValuedLine]) -> Totals:
    """The general diagnosis fee's lines whole; of the others, the compliant part and the member's own part."""
    general = compliant = own = 0
    for line in lines:
        if line.general_fee:
            general += line.amount_fen
        else:
            compliant += line.compliant_fen
            own += line.own_fen
    return Totals(general_fee_fen=general, compliant_fen=compliant, non_compliant_fen=own)


def selfpay_prop_bp(prop: Decimal) -> int:
    """``selfpay_prop`` as the catalogue files give it (a fraction, ``0.1``) in basis points."""
    return _half_up(prop * BP)
