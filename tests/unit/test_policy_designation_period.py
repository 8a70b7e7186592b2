"""R2: a designation period is [valid_from, valid_to): the day a change takes effect belongs to the new pair."""

from __future__ import annotations

from datetime import date

from member_api.policy.designation import in_force_on


def test_r2_a_period_holds_from_its_first_day_up_to_but_not_on_its_end_day() -> None:
    start, end = date(2026, 3, 1), date(2026, 6, 2)
    assert not in_force_on(start, end, date(2026, 2, 28))
    assert in_force_on(start, end, start)
    assert in_force_on(start, end, date(2026, 6, 1))
    assert not in_force_on(start, end, end)


def test_r2_an_open_period_holds_from_its_first_day_on() -> None:
    assert not in_force_on(date(2026, 1, 1), None, date(2025, 12, 31))
    assert in_force_on(date(2026, 1, 1), None, date(2026, 12, 31))
