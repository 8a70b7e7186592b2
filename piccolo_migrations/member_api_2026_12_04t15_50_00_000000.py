"""PostgreSQL: the credential-used NOTIFY, sent by a trigger inside the transaction that records the movement.

Every worker's listener (ledger/events.py) wakes the e-credential screens waiting for that jti; PostgreSQL delivers
the notification at commit, and never for a rolled-back settlement. SQLite has no NOTIFY (its workers poll).
The trigger is on whichever of ``settlement`` / ``movement`` holds the ledger (the table is being renamed).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-04T15:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "credential_used NOTIFY trigger (PostgreSQL)"

CREATE = (
    """
CREATE OR REPLACE FUNCTION member_api_credential_used() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM pg_notify('credential_used', NEW.credential_jti);
    RETURN NULL;
END
$f$
""",
    """
DO $d$
DECLARE ledger text := COALESCE(to_regclass('movement')::text, 'settlement');
BEGIN
    EXECUTE format(
        'CREATE TRIGGER credential_used AFTER INSERT ON %s FOR EACH ROW WHEN (NEW.credential_jti IS NOT NULL)'
        ' EXECUTE FUNCTION member_api_credential_used()', ledger);
END
$d$
""",
)
DROP = (
    """
DO $d$
DECLARE ledger text := COALESCE(to_regclass('movement')::text, 'settlement');
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS credential_used ON %s', ledger);
END
$d$
""",
    "DROP FUNCTION IF EXISTS member_api_credential_used()",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="member_api", description=DESCRIPTION)

    async def create():
        if isinstance(Migration._meta.db, PostgresEngine):
            for sql in CREATE:
                await Migration.raw(sql).run()

    async def drop():
        if isinstance(Migration._meta.db, PostgresEngine):
            for sql in DROP:
                await Migration.raw(sql).run()

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
