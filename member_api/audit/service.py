"""Append-only audit trail: called inside the service's transaction so the record and the act commit together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from member_api.db import fetch


async def record(
    at: datetime, actor: str, action: str, subject_type: str, subject_id: object, data: dict[str, Any] | None = None
) -> None:
    await fetch(
        "INSERT INTO audit_event (at, actor, action, subject_type, subject_id, data) VALUES ({}, {}, {}, {}, {}, {})",
        at,
        actor,
        action,
        subject_type,
        str(subject_id),
        msgspec.json.encode(data or {}).decode(),
    )
