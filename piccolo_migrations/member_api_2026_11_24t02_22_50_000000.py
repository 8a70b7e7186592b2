"""Multi-column indexes that piccolo columns cannot express (unique per member and year, lookups)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration

ID = "2026-11-24T02:22:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"

STATEMENTS = (
    "CREATE UNIQUE INDEX enrollment_member_year ON enrollment (member, year)",
    "CREATE UNIQUE INDEX benefit_account_member_year ON benefit_account (member, year)",
    "CREATE UNIQUE INDEX idempotency_scope_key ON idempotency_record (scope, key)",
    "CREATE INDEX settlement_member_year_id ON settlement (member, year, id)",
    "CREATE INDEX settlement_member_day_facility ON settlement (member, visit_date, facility)",
    "CREATE INDEX designation_member_from ON designation (member, valid_from)",
    "CREATE INDEX rate_event_kind_key_at ON rate_event (kind, key_hash, at)",
    "CREATE INDEX change_request_member_status ON designation_change_request (member, status)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="member_api", description=DESCRIPTION)

    async def create():
        for sql in STATEMENTS:
            await Migration.raw(sql).run()

    async def drop():
        for sql in STATEMENTS:
            name = sql.split(" INDEX ", 1)[1].split(" ", 1)[0]
            await Migration.raw(f"DROP INDEX IF EXISTS {name}").run()

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
