"""The piccolo engine and the one place that knows SQLite and PostgreSQL differ."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.querystring import QueryString

from member_api.core import replica
from member_api.settings import Settings

os.environ.setdefault("PICCOLO_CONF", "member_api.piccolo_conf")

log = logging.getLogger("member_api.db")
T = TypeVar("T")
COPY_MIN_ROWS = 100
UNAVAILABLE, STORAGE_FULL = "unavailable", "storage_full"


@dataclass(frozen=True)
class Timeouts:
    """Every wait on the database is bounded (seconds; 0: no limit). See docs/operations.md "Faults"."""

    acquire: float = 2.0
    connect: float = 3.0
    lock: float = 2.0
    statement: float = 15.0
    busy: float = 5.0

    @classmethod
    def of(cls, settings: Settings) -> Timeouts:
        return cls(
            acquire=settings.db_acquire_timeout_s,
            connect=settings.db_connect_timeout_s,
            lock=settings.db_lock_timeout_s,
            statement=settings.db_statement_timeout_s,
            busy=settings.db_busy_timeout_s,
        )

    def for_batch(self) -> Timeouts:
        """Command-line jobs (import, month close) may wait for locks and run long statements."""
        return Timeouts(acquire=self.acquire, connect=self.connect, lock=0, statement=0, busy=max(self.busy, 30.0))

    def server_settings(self) -> dict[str, str]:
        """Sent at connection start-up: no extra round trip per transaction."""
        return {
            "lock_timeout": str(int(self.lock * 1000)),
            "statement_timeout": str(int(self.statement * 1000)),
            # a transaction left open by a stalled client never holds its locks for long
            "idle_in_transaction_session_timeout": str(int(max(self.statement, self.lock, 10.0) * 2000)),
        }


_timeouts = Timeouts()


class PoolExhausted(Exception):
    """No pooled connection came free within ``Timeouts.acquire``."""


class DatabaseBusy(Exception):
    """Too many requests already wait for the same row (``gate``): refused before taking a connection's time."""


class BoundedPool(asyncpg.Pool):
    """asyncpg's pool whose every acquire (piccolo's included) waits at most ``acquire_timeout``."""

    acquire_timeout: float | None = None

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=timeout if timeout is not None else self.acquire_timeout)

    async def _acquire(self, timeout: float | None) -> Any:  # noqa: ASYNC109 (asyncpg's own signature)
        try:
            return await super()._acquire(timeout)  # type: ignore[misc]
        except TimeoutError as exc:
            raise PoolExhausted("no database connection came free in time") from exc


def make_engine(url: str, statement_cache_size: int | None = None, timeouts: Timeouts | None = None) -> Engine:
    """SQLite for ``sqlite:///path`` (the embedded default), PostgreSQL for ``postgresql://``.

    ``statement_cache_size``: asyncpg's prepared statements per connection (default: the setting
    ``MEMBER_API_DB_STATEMENT_CACHE_SIZE``; -1 is asyncpg's own default). 0 behind PgBouncer in transaction mode,
    where a named prepared statement lives on a server connection the next transaction may not get.
    ``timeouts``: every wait's bound (default: the ``MEMBER_API_DB_*_TIMEOUT_S`` settings).
    """
    global _timeouts
    timeouts = _timeouts = timeouts or Timeouts.of(Settings.from_env())
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[1] if "sqlite:///" in url else "member_api.sqlite3"
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=path, timeout=timeouts.busy or 3600.0)
    if url.startswith(("postgresql://", "postgres://")):
        if statement_cache_size is None:
            statement_cache_size = Settings.from_env().db_statement_cache_size
        config: dict[str, Any] = {"dsn": url}
        if statement_cache_size >= 0:
            config["statement_cache_size"] = statement_cache_size
        return PostgresEngine(config=config)
    raise ValueError("MEMBER_API_DATABASE_URL must start with sqlite:/// or postgresql://")


def is_sqlite(engine: Engine) -> bool:
    return isinstance(engine, SQLiteEngine)


def activate(engine: Engine) -> None:
    """Point piccolo (the conf module, every table, the migration table) at ``engine``."""
    # Loaded at first use, not with this module: piccolo's tables and its conf module (which builds an engine from
    # the environment and imports this module's make_engine) would otherwise load while this module is half-made.
    from piccolo.apps.migrations.tables import Migration

    from member_api import piccolo_conf
    from member_api.piccolo_app import APP_CONFIG

    piccolo_conf.DB = engine
    for table in [*APP_CONFIG.table_classes, Migration]:
        table._meta.db = engine


_conf: Any = None


def current_engine() -> Engine:
    """piccolo's engine (the conf module imports this one, so it is looked up once, at first use)."""
    global _conf
    if _conf is None:
        from member_api import piccolo_conf  # at first use: see activate()

        _conf = piccolo_conf
    engine: Engine = _conf.DB
    return engine


async def prepare(engine: Engine, pool: bool = True, timeouts: Timeouts | None = None) -> None:
    """Engine start-up: WAL on SQLite (readers never block the writer), a bounded pool on PostgreSQL."""
    if isinstance(engine, SQLiteEngine):
        with sqlite3.connect(engine.path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
    elif pool and engine.pool is None:
        timeouts = timeouts or _timeouts
        config: dict[str, Any] = dict(engine.config)
        if config.get("statement_cache_size") != 0:
            # PgBouncer (statement cache 0) refuses start-up parameters: there the role carries them (ALTER ROLE ..
            # SET lock_timeout ..., docs/operations.md "Faults"); the client-side limits below hold either way
            config["server_settings"] = {**config.get("server_settings", {}), **timeouts.server_settings()}
        connection_pool = BoundedPool(
            min_size=1,
            max_size=int(os.environ.get("MEMBER_API_DB_POOL", "10")),
            max_queries=50_000,
            max_inactive_connection_lifetime=300.0,
            reset=keep_session,
            loop=None,
            connection_class=asyncpg.Connection,
            record_class=asyncpg.Record,
            timeout=timeouts.connect,  # connecting (a host that does not answer)
            # the client's own limit, for a network that stalls: the server's statement_timeout fires first
            command_timeout=timeouts.statement + 2.0 if timeouts.statement else None,
            **config,
        )
        connection_pool.acquire_timeout = timeouts.acquire or None
        engine.pool = await connection_pool


async def keep_session(connection: object) -> None:
    """Pool release without asyncpg's default ``RESET ALL; UNLISTEN *; ...`` round trip.

    The service never changes session state (no SET, LISTEN, advisory locks or cursors) and asyncpg still
    rolls back an open transaction before calling this, so the extra statement per query bought nothing.
    """


async def close(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


@asynccontextmanager
async def write_transaction() -> AsyncIterator[None]:
    """A transaction that takes the write lock at BEGIN on SQLite, so read-then-write cannot race.

    Inside another one it joins the outer transaction: the work commits or rolls back with it.
    """
    engine = current_engine()
    if engine.current_transaction.get() is not None:
        yield
    elif isinstance(engine, SQLiteEngine):
        async with engine.transaction(transaction_type=TransactionType.immediate, allow_nested=False):
            yield
    elif isinstance(engine, PostgresEngine) and engine.pool is not None:
        async with _pg_transaction(engine):
            yield
    else:
        async with engine.transaction(allow_nested=False):
            yield


@asynccontextmanager
async def _pg_transaction(engine: PostgresEngine) -> AsyncIterator[None]:
    """piccolo's transaction, made safe for faults: its connection always goes back to the pool (piccolo's leaks
    it when BEGIN or ROLLBACK fails on a broken connection), and a connection found broken at BEGIN, before any
    statement of ours was sent, is discarded and the transaction started once more on a fresh one."""
    pool = engine.pool
    assert pool is not None
    transaction = PostgresTransaction(engine, allow_nested=False)
    for attempt in (1, 2):
        connection = await pool.acquire()
        try:
            transaction.connection = connection
            transaction.transaction = connection.transaction()
            await transaction.begin()
            break
        except BaseException as exc:
            await _release(pool, connection)
            if attempt == 2 or not connection_lost(exc):
                raise
            log.warning("db_reconnect", extra={"where": "begin"})
            pool.expire_connections()  # its siblings were opened before the same fault: replace them too
    token = engine.current_transaction.set(transaction)
    try:
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):  # a broken connection cannot roll back; the server does
                await transaction.rollback()
            raise
        await transaction.commit()
    finally:
        engine.current_transaction.reset(token)
        await _release(pool, connection)


async def _release(pool: asyncpg.Pool, connection: Any) -> None:
    try:
        await pool.release(connection)
    except Exception:  # asyncpg terminated it; a fresh one replaces it at the next acquire
        log.warning("db_release_failed")


async def execute_many(sql: str, rows: list[tuple[object, ...]]) -> None:
    """One statement for many rows on the current transaction's connection (``{}`` placeholders).

    For bulk paths (the registry import) where building an ORM object per row costs more than the database.
    """
    if not rows:
        return
    engine = current_engine()
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("execute_many runs inside write_transaction()")
    if isinstance(engine, SQLiteEngine):
        await transaction.connection.executemany(sql.replace("{}", "?"), rows)
        return
    await transaction.connection.executemany(_numbered(sql), rows)


async def copy_records(table: str, columns: Sequence[str], records: list[tuple[object, ...]]) -> None:
    """Bulk-load rows into ``table`` on the current transaction's connection (``table`` and ``columns`` are constants).

    PostgreSQL: ``COPY ... FROM STDIN`` in binary (asyncpg ``copy_records_to_table``), the fastest way in, for all
    but a few rows (its set-up costs a round trip); SQLite: one ``executemany`` insert (in-process, nothing to save).
    """
    if not records:
        return
    engine = current_engine()
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("copy_records runs inside write_transaction()")
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['{}'] * len(columns))})"  # noqa: S608
    if isinstance(engine, SQLiteEngine):
        await transaction.connection.executemany(insert.replace("{}", "?"), records)
    elif len(records) < COPY_MIN_ROWS:
        await transaction.connection.executemany(_numbered(insert), records)
    else:
        await transaction.connection.copy_records_to_table(table, records=records, columns=list(columns))


async def fetch(sql: str, *args: object) -> list[dict[str, Any]]:
    """Hand-written SQL (``{}`` placeholders); a unique-constraint refusal is raised as ``UniqueViolation``."""
    try:
        return await _fetch(sql, *args)
    except Exception as exc:
        if _is_unique_violation(exc):
            raise UniqueViolation(str(exc)) from exc
        raise


async def _fetch(sql: str, *args: object) -> list[dict[str, Any]]:
    """Hand-written SQL (``{}`` placeholders) for the hottest path, the counter settlement.

    The ORM costs about 200 µs of query building per statement; a settlement sends a dozen. On
    PostgreSQL this goes straight to asyncpg on the transaction's (or a pooled) connection; on SQLite
    through piccolo, so its type adapters apply alike.
    """
    engine = current_engine()
    if isinstance(engine, PostgresEngine):
        numbered = _numbered(sql)
        transaction = engine.current_transaction.get()
        if transaction is not None:
            return [dict(r) for r in await transaction.connection.fetch(numbered, *args)]
        if replica.wanted() and (found := replica.current()) is not None:
            rows = await found.fetch(numbered, args)
            if rows is not None:
                return rows
        if engine.pool is not None:
            for attempt in (1, 2):
                try:
                    async with engine.pool.acquire() as connection:
                        return [dict(r) for r in await connection.fetch(numbered, *args)]
                except Exception as exc:
                    # one statement on its own: a connection the server shut down ran nothing of it
                    if attempt == 2 or not connection_lost(exc):
                        raise
                    log.warning("db_reconnect", extra={"where": "statement"})
                    engine.pool.expire_connections()
    rows: list[dict[str, Any]] = await engine.run_querystring(QueryString(sql, *args))
    return rows


async def primary_wal_position() -> int:
    """The primary's current WAL position in bytes (what a replica must have replayed to be as new)."""
    with replica.primary_only():
        row = await fetch_one("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn AS position")
    assert row is not None
    return int(row["position"])


async def start_replica(read_url: str, max_lag_s: float, statement_cache_size: int = -1) -> None:
    """Reads that may lag go to ``read_url`` while it keeps up (``member_api/core/replica.py``); PostgreSQL only."""
    if read_url and isinstance(current_engine(), PostgresEngine):
        await replica.start(read_url, max_lag_s, primary_wal_position, statement_cache_size)


stop_replica = replica.stop


async def fetch_one(sql: str, *args: object) -> dict[str, Any] | None:
    rows = await fetch(sql, *args)
    return rows[0] if rows else None


@lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    parts = sql.split("{}")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))


def lock_for_update(query: T) -> T:
    """``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite refuses it and its IMMEDIATE lock suffices."""
    if isinstance(current_engine(), SQLiteEngine):
        return query
    return query.lock_rows("UPDATE")  # type: ignore[attr-defined, no-any-return]


class UniqueViolation(Exception):
    """A unique constraint refused a write, on either engine (raised by ``fetch``; services catch this type)."""


def _is_unique_violation(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return "unique" in str(exc).lower()
    return type(exc).__name__ == "UniqueViolationError"  # asyncpg.exceptions.UniqueViolationError


# SQLSTATEs meaning "the database cannot serve this now": connection exceptions (08), insufficient resources
# (53: too many connections, out of memory), operator intervention (57P01-57P05: shutdown, cannot connect now,
# 57014: statement timeout), lock not available (55P03: lock_timeout), idle-in-transaction timeout (25P03),
# serialization failure and deadlock (40001, 40P01) once retries are spent.
_UNAVAILABLE_STATES = ("08", "53", "57", "55P03", "25P03", "40001", "40P01")
_STORAGE_FULL_STATES = ("53100",)  # disk_full


def connection_lost(exc: BaseException) -> bool:
    """The connection broke or the server is going away (its open transaction, if any, did not commit)."""
    state = getattr(exc, "sqlstate", None) or ""
    if state.startswith("08") or state in ("57P01", "57P02", "57P03"):
        return True
    if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc).lower():
        return True
    return isinstance(exc, (ConnectionError, asyncpg.ConnectionDoesNotExistError))


def unavailable(exc: BaseException) -> str | None:
    """``UNAVAILABLE`` (answer 503), ``STORAGE_FULL`` (507) or None: what a database failure means to a client.

    Looks along the exception's causes, since libraries wrap what the driver raised.
    """
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        seen += 1
        state = getattr(current, "sqlstate", None) or ""
        if isinstance(current, asyncpg.PostgresError) and state:
            if state.startswith(_STORAGE_FULL_STATES):
                return STORAGE_FULL
            if state.startswith(_UNAVAILABLE_STATES):
                return UNAVAILABLE
        if isinstance(current, sqlite3.OperationalError):
            text = str(current).lower()
            if "disk is full" in text or "disk i/o" in text:
                return STORAGE_FULL
            if "locked" in text or "busy" in text:
                return UNAVAILABLE
        if isinstance(current, (PoolExhausted, DatabaseBusy, TimeoutError, ConnectionError)) or connection_lost(
            current
        ):
            return UNAVAILABLE
        if isinstance(current, OSError) and current.errno in (28, 122):  # ENOSPC, EDQUOT (a blob, the SQLite file)
            return STORAGE_FULL
        if isinstance(current, OSError) and current.errno == 5:  # EIO: a blob that did not read back as written
            return UNAVAILABLE
        current = current.__cause__ or current.__context__
    return None


_gates: dict[str, asyncio.Lock] = {}
_waiting: dict[str, int] = {}


@asynccontextmanager
async def gate(key: str, queue: int = 2) -> AsyncIterator[None]:
    """At most one request per worker at a time for ``key`` (a member's account), and at most ``queue`` waiting.

    A row lock held elsewhere (a stuck session, a long report) then ties up at most ``1 + queue`` pooled connections
    per worker instead of all of them; the rest are refused at once with 503 and other members proceed.
    """
    lock = _gates.setdefault(key, asyncio.Lock())
    if _waiting.get(key, 0) > queue:
        raise DatabaseBusy(key)
    _waiting[key] = _waiting.get(key, 0) + 1
    try:
        try:
            async with asyncio.timeout(_timeouts.lock or None):
                await lock.acquire()
        except TimeoutError:
            raise DatabaseBusy(key) from None
        try:
            yield
        finally:
            lock.release()
    finally:
        _waiting[key] -= 1
        if not _waiting[key]:
            del _waiting[key]
            _gates.pop(key, None)


def _is_transient(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "could not serialize" in text or "deadlock detected" in text


async def retry_transient(fn: Callable[[], Awaitable[T]], attempts: int = 8) -> T:
    """Run a write again when the database reports lock contention, never surfacing it as a 500."""
    delay = 0.02
    for attempt in range(attempts):
        try:
            return await fn()
        except Exception as exc:
            if attempt == attempts - 1 or not _is_transient(exc):
                raise
            log.warning("db_retry", extra={"attempt": attempt + 1})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
    raise AssertionError("unreachable")


async def run_migrations() -> None:
    """Apply every migration in piccolo_migrations/ (piccolo's own table first)."""
    # piccolo's migration machinery is loaded by the commands that migrate, not by every import of this module.
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="member_api", migration_id="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")


async def pending_migrations() -> list[str]:
    """Ids of migrations on disk but not applied; raises when the database cannot be reached."""
    # At first use, as in activate() and run_migrations().
    from piccolo.apps.migrations.commands.base import BaseMigrationManager
    from piccolo.apps.migrations.tables import Migration

    from member_api.piccolo_app import APP_CONFIG

    on_disk = set(BaseMigrationManager().get_migration_modules(APP_CONFIG.resolved_migrations_folder_path))
    if not await Migration.table_exists().run():
        return sorted(on_disk)
    rows = await Migration.select(Migration.name).where(Migration.app_name == "member_api")
    return sorted(on_disk - {row["name"] for row in rows})
