"""R17: a policy year's grace days, after its end, in which its visits still settle (and its settlements reverse).

Interpretation (DOMAIN.md R17): a visit settles against the parameters and cap of the policy year of the date
of care. A visit of the previous year presented in the first ``late_settlement_days`` days of the new year
(a parameter of the visit's own policy year, 15 by default) still settles, against that previous year; later it
is refused with the last day it was possible. Reversals of a year's settlements follow the same window, so a
closed year's accounts stop moving on the same day for both.
"""

from __future__ import annotations

from datetime import date, timedelta

from member_api.policy.parameters import PolicyYear


def settle_until(params: PolicyYear) -> date:
    """The last local day a visit (or a reversal) of this policy year can be settled: ``valid_to`` + N days."""
    return params.valid_to + timedelta(days=params.late_settlement_days)


def may_settle(params: PolicyYear, today: date) -> bool:
    """R17: True while ``today`` is inside the year or its late-settlement days (both ends included)."""
    return today <= settle_until(params)
