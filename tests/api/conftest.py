"""Fixtures: every database test runs on SQLite and on PostgreSQL, each schema built by the migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from litestar.testing import AsyncTestClient

from member_api import db
from member_api.app import create_app
from member_api.auth.passwords import hash_password
from member_api.core.clock import FrozenClock
from member_api.jobs import demo
from member_api.settings import Settings
from tests.helpers.databases import create_pg_database, drop_pg_database

# 10:00 Shanghai time on a weekday in the 2026 policy year.
START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
TABLES_IN_DELETE_ORDER = (
    "payment_event",
    "fsi_visit_settlement",
    "fsi_fee_line",
    "fsi_visit",
    "fsi_session",
    "fsi_client",
    "catalogue_facility_code",
    "catalogue_entry",
    "dispute",
    "notice",
    "notice_preference",
    "notice_subscription",
    "sms_message",
    "wechat_identity",
    "wechat_token",
    "family_grant",
    "adjustment_fund_movement",
    "adjustment_fund_account",
    "quality_assessment",
    "facility_submission_line",
    "facility_submission",
    "review_sample_item",
    "review_sample",
    "signal_review",
    "report_confirmation",
    "capitation_year_statement",
    "capitation_year_end",
    "capitation_adjustment",
    "capitation_statement",
    "capitation_close",
    "audit_event",
    "idempotency_record",
    "receipt",
    "claim_line",
    "claim_item",
    "claim",
    "referral",
    "movement_item",
    "movement",
    "benefit_account",
    "rate_counter",
    "rate_backoff",
    "refresh_token",
    "auth_session",
    "otp_challenge",
    "binding_code",
    "account",
    "staff",
    "designation",
    "evidence_file",
    "designation_change_request",
    "enrollment",
    "member",
    "facility",
)
_DEMO_HASH = hash_password(demo.DEMO_PASSWORD)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture(scope="session")
async def database(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """A migrated database of the kind, alive for the session; its settings point at it."""
    data_dir = tmp_path_factory.mktemp(f"data-{db_kind}")
    pg_name = None
    if db_kind == "postgres":
        created = await create_pg_database()
        assert created is not None
        url, pg_name = created
    else:
        url = f"sqlite:///{data_dir / 'test.sqlite3'}"
    settings = Settings(
        database_url=url, data_dir=str(data_dir), sms_backend=f"file:{data_dir / 'sms.jsonl'}", log_level="WARNING"
    )
    engine = db.make_engine(url)
    db.activate(engine)
    # No PostgreSQL pool: the test client serves requests on its own event loop, and a pool is bound to one.
    await db.prepare(engine, pool=False)
    await db.run_migrations()
    try:
        yield {"kind": db_kind, "url": url, "settings": settings, "engine": engine, "data_dir": data_dir}
    finally:
        await db.close(engine)
        if pg_name:
            await drop_pg_database(pg_name)


async def wipe() -> None:
    engine = db.current_engine()
    if db.is_sqlite(engine):
        # the ledger's rows refuse DELETE (a trigger): lifted for the wipe only (PostgreSQL's TRUNCATE skips them)
        guards = await db.fetch(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%immutable%'"
        )
        for guard in guards:
            await engine.run_ddl(f"DROP TRIGGER {guard['name']}")
        await engine.run_ddl("UPDATE member SET guardian = NULL")
        await engine.run_ddl("UPDATE facility SET parent = NULL")
        for table in TABLES_IN_DELETE_ORDER:
            await engine.run_ddl(f"DELETE FROM {table}")
        for guard in guards:
            await engine.run_ddl(guard["sql"])
    else:
        await engine.run_ddl(f"TRUNCATE {', '.join(TABLES_IN_DELETE_ORDER)} RESTART IDENTITY CASCADE")


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FrozenClock:
    """Frozen at START, or at ``@pytest.mark.clock_at(datetime)``: the world is seeded on that date."""
    marker = request.node.get_closest_marker("clock_at")
    return FrozenClock(marker.args[0] if marker else START)


@pytest_asyncio.fixture
async def world(database: dict[str, Any], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An empty database with the demo catalogue, members and staff; returns the demo manifest."""
    db.activate(database["engine"])
    await wipe()
    monkeypatch.setattr(demo, "hash_password", lambda _: _DEMO_HASH)
    manifest = await demo.seed_demo(database["settings"], today=clock.now().date())
    sms = Path(database["settings"].resolved_sms_backend.removeprefix("file:"))
    sms.unlink(missing_ok=True)  # noqa: ASYNC240 - a test fixture, before any request
    return manifest


@pytest_asyncio.fixture
async def client(database: dict[str, Any], world: dict[str, Any], clock: FrozenClock) -> AsyncIterator[Any]:
    app = create_app(database["settings"], clock=clock, engine=database["engine"])
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as test_client:
        test_client.world = world
        test_client.settings = database["settings"]
        test_client.clock = clock
        yield test_client
