"""Catalogue keys (R18): one version per (code, start); a facility's code mapped once; lookups by national code."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration

ID = "2026-12-04T15:45:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalogue keys"

STATEMENTS = (
    "CREATE UNIQUE INDEX catalogue_entry_code_from ON catalogue_entry (code, valid_from)",
    "CREATE UNIQUE INDEX catalogue_facility_code_key ON catalogue_facility_code (facility_id, facility_code)",
    "CREATE INDEX catalogue_facility_code_code ON catalogue_facility_code (code)",
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
