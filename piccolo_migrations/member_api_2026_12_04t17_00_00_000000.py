"""The ledger's invariants in the database too (as django-hordak does), on both engines.

- amounts: a reversal is negative (and names what it reverses), any other movement is not; an account's used amounts
  are never below zero (PostgreSQL CHECK constraints; SQLite cannot add a CHECK to a table, so BEFORE triggers refuse
  the same rows);
- ``movement`` and ``movement_item`` rows are immutable: UPDATE and DELETE are refused by trigger (a mistake is undone
  by a reversal, R11). ``member-api ledger-check`` verifies every account against the sum of its movements.
"""

import re

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-04T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger invariants: amount checks, immutable movements"

MOVEMENT_OK = (
    "(kind = 'reversal' AND reverses IS NOT NULL AND fund_fen <= 0 AND member_fen <= 0)"
    " OR (kind <> 'reversal' AND fund_fen >= 0 AND member_fen >= 0 AND general_fee_fen >= 0"
    " AND compliant_fen >= 0 AND non_compliant_fen >= 0)"
)
ACCOUNT_OK = "used_fen >= 0 AND used_out_of_city_fen >= 0"
IMMUTABLE = ("movement", "movement_item")

POSTGRES = (
    f"ALTER TABLE movement ADD CONSTRAINT movement_amounts CHECK ({MOVEMENT_OK})",
    f"ALTER TABLE benefit_account ADD CONSTRAINT benefit_account_amounts CHECK ({ACCOUNT_OK})",
    """
CREATE OR REPLACE FUNCTION member_api_immutable() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    RAISE EXCEPTION '% rows are immutable: a reversal undoes a movement', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$f$
""",
    *(
        f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION member_api_immutable()"
        for table in IMMUTABLE
    ),
)
POSTGRES_BACK = (
    *(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}" for table in IMMUTABLE),
    "DROP FUNCTION IF EXISTS member_api_immutable()",
    "ALTER TABLE benefit_account DROP CONSTRAINT IF EXISTS benefit_account_amounts",
    "ALTER TABLE movement DROP CONSTRAINT IF EXISTS movement_amounts",
)


COLUMNS = re.compile(
    r"\b(kind|reverses|fund_fen|member_fen|general_fee_fen|compliant_fen|non_compliant_fen|used_fen|used_out_of_city_fen)\b"
)


def _sqlite_checked(table: str, action: str, check: str, name: str) -> str:
    on_new_row = COLUMNS.sub(r"NEW.\1", check)
    return (
        f"CREATE TRIGGER {name}_{action.lower()} BEFORE {action} ON {table} WHEN NOT ({on_new_row})"
        f" BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
    )


SQLITE = (
    _sqlite_checked("movement", "INSERT", MOVEMENT_OK, "movement_amounts"),
    _sqlite_checked("benefit_account", "INSERT", ACCOUNT_OK, "benefit_account_amounts"),
    _sqlite_checked("benefit_account", "UPDATE", ACCOUNT_OK, "benefit_account_amounts"),
    *(
        f"CREATE TRIGGER {table}_immutable_{action.lower()} BEFORE {action} ON {table}"
        f" BEGIN SELECT RAISE(ABORT, '{table} rows are immutable: a reversal undoes a movement'); END"
        for table in IMMUTABLE
        for action in ("UPDATE", "DELETE")
    ),
)
SQLITE_BACK = (
    "DROP TRIGGER IF EXISTS movement_amounts_insert",
    "DROP TRIGGER IF EXISTS benefit_account_amounts_insert",
    "DROP TRIGGER IF EXISTS benefit_account_amounts_update",
    *(f"DROP TRIGGER IF EXISTS {t}_immutable_{a}" for t in IMMUTABLE for a in ("update", "delete")),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="member_api", description=DESCRIPTION)

    async def create():
        for sql in POSTGRES if isinstance(Migration._meta.db, PostgresEngine) else SQLITE:
            await Migration.raw(sql).run()

    async def drop():
        for sql in POSTGRES_BACK if isinstance(Migration._meta.db, PostgresEngine) else SQLITE_BACK:
            await Migration.raw(sql).run()

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
