"""Data access of the referrals area, as named functions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from member_api.referrals.tables import Referral


async def referral_of(member_id: int, referral_id: int) -> dict[str, Any] | None:
    return await Referral.select().where((Referral.id == referral_id) & (Referral.member == member_id)).first()


async def insert_referral(
    member_id: int,
    from_facility: int,
    target_facility: int,
    valid_from: date,
    valid_to: date,
    clerk_id: int | None,
    created_at: datetime,
) -> dict[str, Any]:
    """The new referral as stored."""
    row = Referral(
        member=member_id,
        from_facility=from_facility,
        target_facility=target_facility,
        valid_from=valid_from,
        valid_to=valid_to,
        clerk_id=clerk_id,
        created_at=created_at,
    )
    await row.save()
    stored = await Referral.select().where(Referral.id == row.id).first()
    assert stored is not None
    return stored


async def referrals_of(member_id: int) -> list[dict[str, Any]]:
    """A member's referrals, newest first."""
    return await Referral.select().where(Referral.member == member_id).order_by(Referral.id, ascending=False)
