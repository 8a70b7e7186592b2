"""Messages, second step: notices already pushed before the outbox had states are ``sent``; one preference and
one subscription counter per (member, kind)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration

ID = "2026-12-04T15:44:51:000000"
VERSION = "1.38.0"
DESCRIPTION = "messages outbox states and unique keys"

STATEMENTS = (
    "UPDATE notice SET push_state = 'sent' WHERE delivered_at IS NOT NULL",
    "CREATE UNIQUE INDEX notice_preference_member_kind ON notice_preference (member, kind)",
    "CREATE UNIQUE INDEX notice_subscription_member_kind ON notice_subscription (member, kind)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="member_api", description=DESCRIPTION)

    async def create():
        for sql in STATEMENTS:
            await Migration.raw(sql).run()

    async def drop():
        for name in ("notice_preference_member_kind", "notice_subscription_member_kind"):
            await Migration.raw(f"DROP INDEX IF EXISTS {name}").run()

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
