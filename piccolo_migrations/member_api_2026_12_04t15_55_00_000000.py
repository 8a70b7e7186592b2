"""The ledger's table of fund movements is called ``movement`` (issue 27: "settlement" also named the counter area).

Every row stays: the table is renamed in place (``ALTER TABLE ... RENAME``), never copied. Its indexes, constraints
and id sequence whose names began with ``settlement`` are renamed to begin with ``movement`` so that piccolo's own
index names (``<table>_<column>``) and the names in the catalogue say the same word. PostgreSQL renames them in
place; SQLite cannot rename an index, so each is dropped and created again under the new name (same definition).
SQLite's automatic indexes of UNIQUE columns keep their internal names.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration

ID = "2026-12-04T15:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "settlement table renamed movement"


async def _rename_names(table: str, old: str, new: str) -> None:
    """Rename the indexes, constraints and sequence of ``table`` whose names start with ``old`` to start with ``new``.

    Runs before piccolo's own table rename (raw steps come first in a migration), so ``table`` is the current name.
    """

    def renamed(name: str) -> str:
        return new + name[len(old) :]

    if Migration._meta.db.engine_type == "sqlite":
        rows = await Migration.raw(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = {} AND sql IS NOT NULL", table
        ).run()
        for row in rows:
            if row["name"].startswith(old + "_"):
                await Migration.raw(f'DROP INDEX "{row["name"]}"').run()
                await Migration.raw(row["sql"].replace(row["name"], renamed(row["name"]), 1)).run()
        return
    constraints = await Migration.raw("SELECT conname FROM pg_constraint WHERE conrelid = to_regclass({})", table).run()
    for row in constraints:
        if row["conname"].startswith(old + "_"):
            await Migration.raw(
                f'ALTER TABLE "{table}" RENAME CONSTRAINT "{row["conname"]}" TO "{renamed(row["conname"])}"'
            ).run()
    indexes = await Migration.raw(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = {}", table
    ).run()
    for row in indexes:  # the ones a constraint did not carry along
        if row["indexname"].startswith(old + "_"):
            await Migration.raw(f'ALTER INDEX "{row["indexname"]}" RENAME TO "{renamed(row["indexname"])}"').run()
    await Migration.raw(f'ALTER SEQUENCE IF EXISTS "{old}_id_seq" RENAME TO "{new}_id_seq"').run()


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="member_api", description=DESCRIPTION)

    async def forwards_names():
        await _rename_names("settlement", "settlement", "movement")

    async def backwards_names():
        await _rename_names("movement", "movement", "settlement")

    manager.add_raw(forwards_names)
    manager.add_raw_backwards(backwards_names)
    manager.rename_table(
        old_class_name="Settlement", old_tablename="settlement", new_class_name="Movement", new_tablename="movement"
    )
    return manager
