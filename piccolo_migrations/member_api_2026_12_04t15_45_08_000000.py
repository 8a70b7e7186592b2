"""Agency books (issue 32): one adjustment-fund account per institution and year whose balance cannot go
negative (a CHECK on PostgreSQL, a trigger on SQLite, which cannot add a CHECK to an existing table), one quality
assessment per institution and year, and the lookups of fund movements and facility submissions."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.sqlite import SQLiteEngine

ID = "2026-12-04T15:45:08:000000"
VERSION = "1.38.0"
DESCRIPTION = "agency books constraints and indexes"

INDEXES = (
    "CREATE UNIQUE INDEX adjustment_fund_account_uq ON adjustment_fund_account (institution, year)",
    "CREATE INDEX adjustment_fund_movement_year_ix ON adjustment_fund_movement (year, institution, month)",
    "CREATE UNIQUE INDEX quality_assessment_uq ON quality_assessment (year, institution)",
    "CREATE INDEX facility_submission_period_ix ON facility_submission (year, month, institution)",
)
PG_CHECK = "ALTER TABLE adjustment_fund_account ADD CONSTRAINT adjustment_fund_balance_ck CHECK (balance_fen >= 0)"
SQLITE_CHECKS = tuple(
    f"CREATE TRIGGER adjustment_fund_balance_{when} BEFORE {when.upper()} ON adjustment_fund_account"
    " WHEN NEW.balance_fen < 0 BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: adjustment_fund_balance_ck'); END"
    for when in ("insert", "update")
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="member_api", description=DESCRIPTION)

    async def create():
        for sql in INDEXES:
            await Migration.raw(sql).run()
        if isinstance(Migration._meta.db, SQLiteEngine):
            for sql in SQLITE_CHECKS:
                await Migration.raw(sql).run()
        else:
            await Migration.raw(PG_CHECK).run()

    async def drop():
        for sql in INDEXES:
            name = sql.split(" INDEX ", 1)[1].split(" ", 1)[0]
            await Migration.raw(f"DROP INDEX IF EXISTS {name}").run()
        if isinstance(Migration._meta.db, SQLiteEngine):
            for when in ("insert", "update"):
                await Migration.raw(f"DROP TRIGGER IF EXISTS adjustment_fund_balance_{when}").run()
        else:
            await Migration.raw(
                "ALTER TABLE adjustment_fund_account DROP CONSTRAINT IF EXISTS adjustment_fund_balance_ck"
            ).run()

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
