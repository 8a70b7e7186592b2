"""Creating staff accounts (CLI and demo data)."""

from __future__ import annotations

from datetime import UTC, datetime

from member_api.auth.passwords import hash_password
from member_api.auth.tables import Staff
from member_api.core.errors import ApiError
from member_api.facilities.tables import Facility


async def create_staff(username: str, password: str, role: str, facility_code: str | None) -> int:
    facility_id = None
    if role == "clerk":
        if not facility_code:
            raise ApiError("facility_required", 422, "柜员必须指定所属机构", "A clerk needs --facility.")
        row = await Facility.select(Facility.id).where(Facility.code == facility_code).first()
        if row is None:
            raise ApiError("facility_not_found", 422, "机构编码不存在", f"No facility {facility_code}.")
        facility_id = row["id"]
    staff = Staff(
        username=username,
        password_hash=hash_password(password),
        role=role,
        facility=facility_id,
        created_at=datetime.now(UTC),
    )
    await staff.save()
    return int(staff.id)
