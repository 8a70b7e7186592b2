"""Facility catalogue, designation periods and change requests (R2)."""

from piccolo.columns import (
    BigInt,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from member_api.members.tables import Member


class Facility(Table, tablename="facility"):
    """A designated medical institution. Village stations point at the institution that runs them."""

    code = Varchar(length=32, unique=True)
    name = Varchar(length=200, index=True)
    kind = Varchar(length=32, index=True)
    tier = Varchar(length=16)
    division = Varchar(length=16, index=True)
    address = Varchar(length=300)
    lat = DoublePrecision()
    lng = DoublePrecision()
    in_city = Boolean(default=True)
    active = Boolean(default=True)
    parent = ForeignKey(references="self", null=True, on_delete=OnDelete.restrict, index=True)


class ChangeRequest(Table, tablename="designation_change_request"):
    """A member's request to change the designated pair within a year; reviewed, never edited away."""

    member = ForeignKey(references=Member, on_delete=OnDelete.restrict, index=True)
    year = Integer()
    institution = ForeignKey(references=Facility, on_delete=OnDelete.restrict)
    station = ForeignKey(references=Facility, null=True, on_delete=OnDelete.restrict)
    reason = Varchar(length=32)
    reason_text = Text(default="")
    status = Varchar(length=16, index=True)
    current_institution = ForeignKey(references=Facility, null=True, on_delete=OnDelete.restrict, index=True)
    division = Varchar(length=16, index=True)
    decided_by = BigInt(null=True, default=None)
    decision_comment = Text(default="")
    decided_at = Timestamptz(null=True, default=None)
    effective_from = Date(null=True, default=None)
    created_at = Timestamptz()
    filed_by = Varchar(length=48, default="")
    """Who filed it: the actor (``account:N`` for the resident or a relative, ``staff:N`` for a clerk at the
    counter after checking the ID card); empty on rows older than this column."""
    filed_by_facility = ForeignKey(references=Facility, null=True, on_delete=OnDelete.restrict)
    """The clerk's facility when a clerk filed it."""


class Designation(Table, tablename="designation"):
    """One period [valid_from, valid_to) of a member's designated pair. Rows are closed, never rewritten."""

    member = ForeignKey(references=Member, on_delete=OnDelete.restrict, index=True)
    year = Integer()
    institution = ForeignKey(references=Facility, on_delete=OnDelete.restrict, index=True)
    station = ForeignKey(references=Facility, null=True, on_delete=OnDelete.restrict, index=True)
    valid_from = Date()
    valid_to = Date(null=True, default=None)
    source = Varchar(length=24)
    change_request = ForeignKey(references=ChangeRequest, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz()
    made_by = Varchar(length=48, default="")
    """Who made it (R2 history): the actor that chose the pair or filed the change request it comes from;
    empty for carry-over rows (the yearly job) and rows older than this column."""
    made_by_facility = ForeignKey(references=Facility, null=True, on_delete=OnDelete.restrict)
    """The clerk's facility when a clerk recorded it for the resident."""


class EvidenceFile(Table, tablename="evidence_file"):
    """A file attached to a change request, stored by content hash."""

    change_request = ForeignKey(references=ChangeRequest, on_delete=OnDelete.restrict, index=True)
    sha256 = Varchar(length=64, index=True)
    content_type = Varchar(length=64)
    size = Integer()
    filename = Varchar(length=200, default="")
    created_at = Timestamptz()
