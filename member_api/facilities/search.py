"""Finding facilities: filters, text search, distance ordering and cursor pages."""

from __future__ import annotations

import math
from typing import Any

from member_api.core.errors import invalid_field, not_found
from member_api.core.types import decode_cursor, encode_cursor
from member_api.facilities import queries
from member_api.facilities.schemas import FacilityDetail, FacilityPage, FacilityView

EARTH_RADIUS_M = 6_371_000


def to_view(row: dict[str, Any], distance_m: int | None = None) -> FacilityView:
    return FacilityView(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        kind=row["kind"],
        tier=row["tier"],
        division=row["division"],
        address=row["address"],
        lat=row["lat"],
        lng=row["lng"],
        in_city=row["in_city"],
        parent_id=row["parent"],
        distance_m=distance_m,
    )


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> int:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(a)))


def _parse_near(near: str) -> tuple[float, float]:
    try:
        lat_s, lng_s = near.split(",")
        lat, lng = float(lat_s), float(lng_s)
    except ValueError:
        raise invalid_field("near", "位置格式应为 纬度,经度", "near must be 'lat,lng'") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or math.isnan(lat) or math.isnan(lng):
        raise invalid_field("near", "位置超出范围", "near is out of range")
    return lat, lng


async def search(
    *,
    division: str | None,
    kind: str | None,
    tier: str | None,
    q: str | None,
    near: str | None,
    cursor: str | None,
    limit: int,
) -> FacilityPage:
    """Active facilities. Without ``near`` pages are keyset by id; with it, ordered by distance."""
    term = q.strip().replace("%", "").replace("_", "")[:50] if q else None
    position = decode_cursor(cursor) or 0
    if near is None:
        rows = await queries.active_facilities(division, kind, tier, term, after_id=position, limit=limit + 1)
        items = [to_view(r) for r in rows[:limit]]
        return FacilityPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)
    lat, lng = _parse_near(near)
    rows = await queries.active_facilities(division, kind, tier, term)
    ranked = sorted(((haversine_m(lat, lng, r["lat"], r["lng"]), r["id"], r) for r in rows), key=lambda t: t[:2])
    page = ranked[position : position + limit]
    more = position + limit < len(ranked)
    return FacilityPage(
        items=[to_view(r, d) for d, _, r in page], next_cursor=encode_cursor(position + limit) if more else None
    )


async def detail(facility_id: int) -> FacilityDetail:
    row = await queries.active_facility(facility_id)
    if row is None:
        raise not_found("医疗机构", "facility")
    stations = await queries.active_stations_of(facility_id)
    base = to_view(row)
    return FacilityDetail(
        **{f: getattr(base, f) for f in base.__struct_fields__}, stations=[to_view(s) for s in stations]
    )
