"""When the yearly contribution (参保缴费) for an insurance year is collected: a window in the year before it.

Interpretation (the city text is silent; Guangdong collects residents' contributions in the autumn before the year):
the window opens on ``contribution_opens`` and closes on ``contribution_closes`` (MM-DD) of the previous year;
both are policy-year parameters of the year paid for.
"""

from __future__ import annotations

from datetime import date

from member_api.policy.parameters import PolicyYear


def contribution_window(params: PolicyYear) -> tuple[date, date]:
    """(first day, last day) of collection for ``params.year``."""
    opens_m, opens_d = (int(x) for x in params.contribution_opens.split("-"))
    closes_m, closes_d = (int(x) for x in params.contribution_closes.split("-"))
    return date(params.year - 1, opens_m, opens_d), date(params.year - 1, closes_m, closes_d)


def covered_from(year: int, paid_on: date) -> date:
    """R1: a payment for a year made before it covers the whole year; one made during it covers from that day."""
    return max(date(year, 1, 1), paid_on)
