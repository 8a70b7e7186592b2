"""R2: which pairs of facilities a member may designate."""

from __future__ import annotations

from datetime import date, timedelta

import msgspec

from member_api.policy.parameters import PolicyYear

PRIMARY_KINDS = frozenset({"township_center", "community_center", "school_clinic"})
STATIONLESS_KINDS = frozenset({"school_clinic"})


class FacilityRef(msgspec.Struct, kw_only=True, frozen=True):
    id: int
    kind: str
    in_city: bool
    active: bool
    parent_id: int | None = None


def pair_problem(institution: FacilityRef, station: FacilityRef | None) -> str | None:
    """The reason code a pair is refused, or None when R2 allows it."""
    if not institution.active or (station is not None and not station.active):
        return "facility_inactive"
    if not institution.in_city or (station is not None and not station.in_city):
        return "facility_out_of_city"
    if institution.kind not in PRIMARY_KINDS:
        return "not_primary_institution"
    if institution.kind in STATIONLESS_KINDS:
        return "station_not_allowed" if station is not None else None
    if station is None:
        return "station_required"
    if station.kind != "village_station":
        return "not_village_station"
    if station.parent_id != institution.id:
        return "station_of_other_institution"
    return None


def change_effective_date(params: PolicyYear, decided_on: date) -> date:
    """An approved change takes effect the next day (R2 interpretation), by parameter."""
    return decided_on + timedelta(days=params.designation_change_delay_days)


def in_force_on(valid_from: date, valid_to: date | None, day: date) -> bool:
    """A designation period is ``[valid_from, valid_to)``: it holds on its first day, not on its end day (the day a
    change takes effect belongs to the new pair). The same test as ``IN_FORCE_ON`` in the facilities queries."""
    return valid_from <= day and (valid_to is None or valid_to > day)
