"""R10: referrals recorded by the designated facility, and which referral covers a visit (counter and claims)."""

from __future__ import annotations

from datetime import date
from typing import Any

from member_api.audit.service import record
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, invalid_field
from member_api.core.principal import Principal
from member_api.credential.identify import identify_member
from member_api.db import write_transaction
from member_api.facilities import service as facility_service
from member_api.referrals import queries
from member_api.referrals.schemas import ReferralCreate, ReferralView

REFERRAL_TIERS = ("primary", "secondary", "tertiary")
"""R10: any Shaoguan designated institution; each is paid at its tier's ratio (R7: 70%, 60%, 50%)."""


async def referral_for(member_id: int, referral_id: int, facility_id: int, day: date) -> dict[str, Any] | None:
    """The referral if it is this member's, to this facility, valid on ``day``."""
    row = await queries.referral_of(member_id, referral_id)
    if row and row["target_facility"] == facility_id and row["valid_from"] <= day <= row["valid_to"]:
        return row
    return None


async def create_referral(ctx: AppContext, clerk: Principal, req: ReferralCreate) -> ReferralView:
    """Only the member's designated institution (or its station) may refer, to any other active designated
    facility inside Shaoguan (R10): another primary institution (paid at 70%), a secondary (60%) or a tertiary
    hospital (50%). The member then settles there at the counter, or pays up front and claims it back."""
    member, _ = await identify_member(ctx, req.credential, req.id_number)
    today = local_today(ctx.clock)
    designation = await facility_service.designation_on(member["id"], today)
    if not designation or clerk.facility_id not in (designation["institution"], designation["station"]):
        raise DomainError(
            "not_designated_facility",
            "只有参保人的约定医疗机构可以办理转诊",
            "Only the member's designated facility may refer.",
        )
    target = (await facility_service.facilities_by_id([req.target_facility_id])).get(req.target_facility_id)
    if target is None or not target["active"] or not target["in_city"] or target["tier"] not in REFERRAL_TIERS:
        raise invalid_field(
            "target_facility_id",
            "只能转往韶关市内的定点医疗机构",
            "The target must be an active designated facility inside Shaoguan.",
            code="invalid_referral_target",
        )
    if target["id"] in (designation["institution"], designation["station"]):
        raise invalid_field(
            "target_facility_id",
            "不能转往参保人自己的约定医疗机构",
            "The target is one of the member's own designated facilities; no referral is needed there.",
            code="invalid_referral_target",
        )
    if req.valid_from < today:
        raise invalid_field("valid_from", "转诊有效期不能早于今天", "must not be before today")
    if req.valid_to < req.valid_from:
        raise invalid_field("valid_to", "转诊有效期的截止日不能早于起始日", "must not be before valid_from")
    now = ctx.clock.now()
    async with write_transaction():
        row = await queries.insert_referral(
            member["id"], designation["institution"], target["id"], req.valid_from, req.valid_to, clerk.staff_id, now
        )
        await record(now, clerk.actor, "referral_created", "referral", row["id"], {"member": member["id"]})
    return _referral_view(row)


def _referral_view(r: dict[str, Any] | None) -> ReferralView:
    assert r is not None
    return ReferralView(
        id=r["id"],
        member_id=r["member"],
        from_facility_id=r["from_facility"],
        target_facility_id=r["target_facility"],
        valid_from=r["valid_from"],
        valid_to=r["valid_to"],
        created_at=r["created_at"],
    )


async def member_referrals(member_id: int) -> list[ReferralView]:
    rows = await queries.referrals_of(member_id)
    return [_referral_view(r) for r in rows]
