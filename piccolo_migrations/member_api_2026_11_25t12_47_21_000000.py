"""One open dispute per settlement (partial unique index, both engines) and the lookups of notices and grants."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration

ID = "2026-11-25T12:47:21:000000"
VERSION = "1.38.0"
DESCRIPTION = "dispute, notice and family grant indexes"

STATEMENTS = (
    "CREATE UNIQUE INDEX dispute_open_settlement ON dispute (settlement_id) WHERE status IN ('open', 'in_review')",
    "CREATE INDEX notice_recipient_id ON notice (recipient, id)",
    "CREATE INDEX family_grant_member_relative ON family_grant (member, relative, status)",
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
