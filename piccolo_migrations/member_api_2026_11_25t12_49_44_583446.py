"""Agency: one close per month, one statement per institution and close, and the month index on fund movements."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration

ID = "2026-11-25T12:49:44:583446"
VERSION = "1.38.0"
DESCRIPTION = "agency composite indexes"

STATEMENTS = (
    "CREATE UNIQUE INDEX capitation_close_period_uq ON capitation_close (year, month)",
    "CREATE UNIQUE INDEX capitation_statement_close_institution_uq ON capitation_statement (close, institution)",
    "CREATE INDEX capitation_statement_cleared_ix ON capitation_statement (institution, cleared_year, cleared_month)",
    "CREATE UNIQUE INDEX capitation_adjustment_month_uq ON capitation_adjustment (statement, touched_year, touched_month)",
    "CREATE UNIQUE INDEX capitation_year_statement_institution_uq ON capitation_year_statement (year_end, institution)",
    "CREATE UNIQUE INDEX report_confirmation_period_uq ON report_confirmation (year, month, institution)",
    "CREATE UNIQUE INDEX review_sample_period_uq ON review_sample (year, month)",
    "CREATE INDEX settlement_day_facility_ix ON settlement (visit_date, facility)",
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
