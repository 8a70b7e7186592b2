"""Referrals approved by a member's designated facility (R10)."""

from piccolo.columns import BigInt, Date, ForeignKey, OnDelete, Timestamptz
from piccolo.table import Table

from member_api.facilities.tables import Facility
from member_api.members.tables import Member


class Referral(Table, tablename="referral"):
    """A referral approved by the member's designated institution to another designated facility in the city, of
    any tier (R10)."""

    member = ForeignKey(references=Member, on_delete=OnDelete.restrict, index=True)
    from_facility = ForeignKey(references=Facility, on_delete=OnDelete.restrict)
    target_facility = ForeignKey(references=Facility, on_delete=OnDelete.restrict)
    valid_from = Date()
    valid_to = Date()
    clerk_id = BigInt()
    created_at = Timestamptz()
