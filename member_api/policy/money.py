"""Integer-fen arithmetic: ratios are basis points, rounding is half up per line (DOMAIN.md)."""

BP = 10_000


def apply_ratio(amount_fen: int, ratio_bp: int) -> int:
    """``amount × ratio`` rounded half up to the fen; amounts are never negative here."""
    if amount_fen < 0 or ratio_bp < 0:
        raise ValueError("amounts and ratios are non-negative")
    return (amount_fen * ratio_bp * 2 + BP) // (2 * BP)


def divide_half_up(numerator: int, denominator: int) -> int:
    return (numerator * 2 + denominator) // (2 * denominator)
