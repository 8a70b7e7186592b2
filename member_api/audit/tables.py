"""Append-only audit log (R11)."""

from piccolo.columns import JSON, Timestamptz, Varchar
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_event"):
    at = Timestamptz(index=True)
    actor = Varchar(length=48)
    action = Varchar(length=48, index=True)
    subject_type = Varchar(length=32)
    subject_id = Varchar(length=48, index=True)
    data = JSON(default="{}")
