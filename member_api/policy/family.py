"""P1 family authorisation and guardianship, P2 dispute window: who may act for whom, and until when."""

from __future__ import annotations

from datetime import date, timedelta

from member_api.policy.parameters import PolicyYear

SCOPES = ("view", "credential", "claims", "designation")
"""What an authorised relative may do, each granted separately (P1)."""


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def is_adult(params: PolicyYear, birth_date: date, day: date) -> bool:
    """P1: adults authorise relatives; a minor is represented by the registry's guardian instead."""
    return age_on(birth_date, day) >= params.adult_age_years


def guardianship_applies(params: PolicyYear, birth_date: date, day: date) -> bool:
    """P1: a guardian acts for a minor (newborns included) until the day the minor comes of age."""
    return not is_adult(params, birth_date, day)


def may_add_relative(params: PolicyYear, active_relatives: int) -> bool:
    """P1: at most ``family_max_relatives`` relatives act for one member at a time."""
    return active_relatives < params.family_max_relatives


def dispute_open_until(params: PolicyYear, settled_on: date) -> date:
    """P2: a settlement may be disputed until this day (inclusive), counted from the day it was settled."""
    return settled_on + timedelta(days=params.dispute_window_days)
