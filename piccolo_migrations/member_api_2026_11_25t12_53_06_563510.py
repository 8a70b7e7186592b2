"""Keys that make the trust-boundary checks atomic: one counter row per (kind, key, window), one back-off row
per (kind, key), and one phone account per registry record (a second binding fails in the database)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration

ID = "2026-11-25T12:53:06:563510"
VERSION = "1.38.0"
DESCRIPTION = "trust boundary indexes"

# Before the unique binding index: a record bound to several accounts (possible before binding was locked)
# keeps its first account; the others are unbound and told why on their next /v1/me.
UNBIND_DUPLICATES = (
    "UPDATE account SET member = NULL, unbound_reason = 'duplicate_binding', unbound_at = CURRENT_TIMESTAMP"
    " WHERE member IS NOT NULL AND id > (SELECT MIN(a.id) FROM account a WHERE a.member = account.member)"
)
# Refresh-token families that are still alive become sessions, so nobody has to log in again.
SESSIONS_FROM_FAMILIES = (
    "INSERT INTO auth_session (sid, subject, created_at)"
    " SELECT family, MIN(subject), MIN(created_at) FROM refresh_token WHERE NOT revoked GROUP BY family"
)
STATEMENTS = (
    "CREATE UNIQUE INDEX rate_counter_kind_key_window ON rate_counter (kind, key_hash, window_start)",
    "CREATE UNIQUE INDEX rate_backoff_kind_key ON rate_backoff (kind, key_hash)",
    "CREATE UNIQUE INDEX account_one_per_member ON account (member) WHERE member IS NOT NULL",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="member_api", description=DESCRIPTION)

    async def create():
        await Migration.raw(UNBIND_DUPLICATES).run()
        await Migration.raw(SESSIONS_FROM_FAMILIES).run()
        for sql in STATEMENTS:
            await Migration.raw(sql).run()

    async def drop():
        for sql in STATEMENTS:
            name = sql.split(" INDEX ", 1)[1].split(" ", 1)[0]
            await Migration.raw(f"DROP INDEX IF EXISTS {name}").run()

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
