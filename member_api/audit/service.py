"""Append-only audit trail: called inside the service's transaction so the record and the act commit together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from member_api.audit.tables import AuditEvent


async def record(
    at: datetime, actor: str, action: str, subject_type: str, subject_id: object, data: dict[str, Any] | None = None
) -> None:
    await AuditEvent.insert(
        AuditEvent(
            at=at, actor=actor, action=action, subject_type=subject_type, subject_id=str(subject_id), data=data or {}
        )
    ).run()
