"""Creating staff accounts and setting their passwords (CLI and demo data)."""

from __future__ import annotations

from datetime import UTC, datetime

from member_api.audit.service import record
from member_api.auth import queries
from member_api.auth.passwords import hash_password
from member_api.auth.tables import Staff
from member_api.core.errors import DomainError
from member_api.db import write_transaction
from member_api.facilities import service as facility_service


async def create_staff(
    username: str, password: str, role: str, facility_code: str | None, display_name: str = ""
) -> int:
    facility_id = None
    if role == "clerk":
        if not facility_code:
            raise DomainError("facility_required", "柜员必须指定所属机构", "A clerk needs --facility.")
        facility_id = await facility_service.facility_id_by_code(facility_code)
        if facility_id is None:
            raise DomainError("facility_not_found", "机构编码不存在", f"No facility {facility_code}.")
    staff = Staff(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        facility=facility_id,
        created_at=datetime.now(UTC),
    )
    await staff.save()
    return int(staff.id)


async def set_staff_password(username: str, password: str, now: datetime | None = None) -> int:
    """Replace the password and end every session of the account (its tokens stop working); sessions ended."""
    now = now or datetime.now(UTC)
    digest = hash_password(password)
    async with write_transaction():
        row = await Staff.select(Staff.id).where(Staff.username == username).first()
        if row is None:
            raise DomainError("staff_not_found", "没有该工作人员账号", f"No staff account {username}.")
        await Staff.update({Staff.password_hash: digest}).where(Staff.id == row["id"])
        ended = await queries.end_sessions_of(f"s{row['id']}", "password_changed", now)
        await record(now, "cli", "staff_password_changed", "staff", row["id"], {"sessions_ended": len(ended)})
    return len(ended)


async def deactivate_staff(staff_id: int) -> None:
    """A system account's credential was revoked: the account is off (tokens of it, if any, stop within the cache
    period)."""
    await Staff.update({Staff.active: False}).where(Staff.id == staff_id)
