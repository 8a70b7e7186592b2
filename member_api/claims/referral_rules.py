"""R10: which referral covers a visit (shared by counter settlement and referral claims)."""

from __future__ import annotations

from datetime import date
from typing import Any

from member_api.claims.tables import Referral


async def referral_for(member_id: int, referral_id: int, facility_id: int, day: date) -> dict[str, Any] | None:
    """The referral if it is this member's, to this facility, valid on ``day``."""
    row = await Referral.select().where((Referral.id == referral_id) & (Referral.member == member_id)).first()
    if row and row["target_facility"] == facility_id and row["valid_from"] <= day <= row["valid_to"]:
        return row
    return None
