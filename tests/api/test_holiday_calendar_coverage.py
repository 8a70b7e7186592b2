"""Issue 16 (R9): `member-api calendar-check YEAR` and the start-up warning for a policy year without a calendar."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from litestar.testing import AsyncTestClient

from member_api.app import create_app
from member_api.cli import main
from member_api.core.clock import FrozenClock


def test_r9_calendar_check_reports_coverage_and_fails_when_missing(capsys):
    assert main(["calendar-check", "2026"]) == 0
    assert json.loads(capsys.readouterr().out)["source"] == "chinesecalendar"
    assert main(["calendar-check", "2027"]) == 1  # no official 2027 notice in the package or in 2027.json yet
    report = json.loads(capsys.readouterr().out)
    assert (report["source"], report["covered"], report["policy_year_known"]) == ("missing", False, True)
    assert "2027.json" in report["action"]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _start_records(database, at: datetime) -> list[logging.LogRecord]:
    app = create_app(database["settings"], clock=FrozenClock(at), engine=database["engine"])
    handler = _Records()
    logger = logging.getLogger("member_api.app")
    logger.addHandler(handler)
    try:
        async with AsyncTestClient(app=app) as client:
            assert (await client.get("/health/live")).status_code == 200
    finally:
        logger.removeHandler(handler)
    return [r for r in handler.records if r.getMessage() == "holiday_calendar_missing"]


async def test_r9_start_warns_when_a_policy_year_within_60_days_has_no_calendar(database):
    warned = await _start_records(database, datetime(2026, 11, 24, 2, 0, tzinfo=UTC))  # 2027 starts in 38 days
    assert [(r.levelno, r.year) for r in warned] == [(logging.WARNING, 2027)]
    assert await _start_records(database, datetime(2026, 10, 1, 2, 0, tzinfo=UTC)) == []  # 92 days away
