"""Family authorisations (P1): a relative acting for a member, with the scopes the member granted."""

from piccolo.columns import ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from member_api.members.tables import Member


class FamilyGrant(Table, tablename="family_grant"):
    """Requested by the relative, confirmed by the member (own session or at a counter), revocable by either."""

    member = ForeignKey(references=Member, on_delete=OnDelete.restrict, index=True)
    relative = ForeignKey(references=Member, on_delete=OnDelete.restrict, index=True)
    scopes = Varchar(length=64)
    status = Varchar(length=16, index=True)
    requested_at = Timestamptz()
    confirmed_at = Timestamptz(null=True, default=None)
    confirmed_by = Varchar(length=48, default="")
    ended_at = Timestamptz(null=True, default=None)
    ended_by = Varchar(length=48, default="")
