"""``member-api rollover [YEAR]``: the yearly carry-over of designations (R2), an explicit write step.

Reads never write: a member's pair is carried into a new year by this job (run daily from cron with
housekeeping; it is idempotent) or by the member's own first write of the year.
"""

from __future__ import annotations

from datetime import date

from member_api.facilities.service import carry_over_year


async def rollover(year: int, today: date) -> int:
    return await carry_over_year(year, today)
