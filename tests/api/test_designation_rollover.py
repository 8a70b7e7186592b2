"""R2 carry-over is an explicit write (first write of the year or the daily job), never a side effect of a read."""

from __future__ import annotations

from datetime import date

from member_api.facilities.designation import carry_over_year
from member_api.facilities.tables import Designation
from tests.helpers import member_headers, staff_headers


async def _carried() -> int:
    return await Designation.count().where(Designation.source == "carry_over")


async def test_r2_reads_do_not_carry_over_and_the_rollover_job_does(client):
    await Designation.delete().where(Designation.source == "carry_over")
    member = await member_headers(client, "SG0000000001")
    current = (await client.get("/v1/me/designation", headers=member)).json()
    assert current["designation"] is None
    clerk = await staff_headers(client, "clerk_zj_dh")
    entry = next(m for m in client.world["members"] if m["insurance_no"] == "SG0000000001")
    verified = await client.post("/v1/counter/verify", json={"id_number": entry["id_number"]}, headers=clerk)
    assert verified.status_code == 200 and verified.json()["designated_here"] is False
    assert await _carried() == 0

    assert await carry_over_year(2026, date(2026, 11, 24)) == 1
    assert await carry_over_year(2026, date(2026, 11, 24)) == 0  # idempotent
    current = (await client.get("/v1/me/designation", headers=member)).json()
    assert current["designation"]["source"] == "carry_over" and current["change_free"] is True
    verified = await client.post("/v1/counter/verify", json={"id_number": entry["id_number"]}, headers=clerk)
    assert verified.json()["designated_here"] is True
