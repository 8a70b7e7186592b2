"""Reads that may lag go to a streaming replica (``MEMBER_API_READ_DATABASE_URL``), while it keeps up.

Which reads: the GET handlers marked ``opt["reads"] = "replica"`` (agency analytics and exports, FHIR searches; see
``app.REPLICA_READS``) and the pages of a member's history that hold only rows from before today
(``ledger.member_page``). Everything else, above all a resident's remaining cap, the counter and anything read
after a write, reads the primary: a write runs in a transaction, and a transaction always uses the primary.

When is the replica good enough: each worker compares, once a second, the primary's WAL position with the
replica's replayed position. The replica is used while it has replayed a position the primary had within the last
``read_max_lag_s`` seconds (an idle primary does not make it look late). A replica that is down, lagging further,
or fails a query is skipped: the read goes to the primary, never to a stale copy presented as current.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

log = logging.getLogger("member_api.replica")
CHECK_S = 1.0

_wanted: contextvars.ContextVar[bool] = contextvars.ContextVar("replica_reads", default=False)


class Replica:
    def __init__(self, url: str, max_lag_s: float, statement_cache_size: int = -1) -> None:
        self.url, self.max_lag_s = url, max_lag_s
        self.statement_cache_size = statement_cache_size
        self.pool: Any = None
        self.usable = False
        self.reads = 0
        """Queries the replica answered (tests and operators see that it is used)."""
        self._primary_positions: deque[tuple[float, int]] = deque()
        self._task: asyncio.Task[None] | None = None

    @property
    def lag_allowance(self) -> timedelta:
        """How far behind the primary's clock a row may be and still be missing from a usable replica."""
        return timedelta(seconds=self.max_lag_s + 2 * CHECK_S)

    async def start(self, primary_position: Callable[[], Awaitable[int]]) -> None:
        self._task = asyncio.create_task(self._watch(primary_position))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pool.close(), 5)
            self.pool = None
        self.usable = False

    async def _open(self) -> Any:
        import asyncpg  # a read replica is PostgreSQL only; SQLite deployments never load the driver here

        if self.pool is None:
            extra = {} if self.statement_cache_size < 0 else {"statement_cache_size": self.statement_cache_size}
            self.pool = await asyncpg.create_pool(self.url, min_size=1, max_size=4, timeout=3, **extra)
        return self.pool

    async def check(self, primary_position: Callable[[], Awaitable[int]]) -> None:
        """Compare positions once; ``usable`` says whether the replica keeps up."""
        now = time.monotonic()
        position = await primary_position()
        self._primary_positions.append((now, position))
        while self._primary_positions and self._primary_positions[0][0] < now - self.max_lag_s:
            self._primary_positions.popleft()
        try:
            pool = await self._open()
            replayed = await asyncio.wait_for(
                pool.fetchval("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn"), self.max_lag_s
            )
        except Exception as exc:  # down, unreachable or too slow to answer: the primary it is
            self._set(False, type(exc).__name__)
            return
        caught_up = replayed is not None and any(replayed >= p for _, p in self._primary_positions)
        self._set(caught_up, "ok" if caught_up else "lagging")

    def _set(self, usable: bool, why: str) -> None:
        if usable != self.usable:
            log.warning("read_replica_" + ("in_use" if usable else "skipped"), extra={"reason": why})
        self.usable = usable

    async def _watch(self, primary_position: Callable[[], Awaitable[int]]) -> None:
        while True:
            try:
                await self.check(primary_position)
            except Exception as exc:  # the primary itself is away: no comparison, no replica
                self._set(False, type(exc).__name__)
            await asyncio.sleep(CHECK_S)

    async def fetch(self, sql: str, args: tuple[object, ...]) -> list[dict[str, Any]] | None:
        """Rows from the replica, or ``None`` when the caller should read the primary."""
        if not self.usable or self.pool is None:
            return None
        try:
            async with self.pool.acquire(timeout=1) as connection:
                rows = [dict(r) for r in await connection.fetch(sql, *args)]
        except Exception as exc:
            self._set(False, type(exc).__name__)
            return None
        self.reads += 1
        return rows


_replica: Replica | None = None


def current() -> Replica | None:
    return _replica


async def start(
    url: str, max_lag_s: float, primary_position: Callable[[], Awaitable[int]], statement_cache_size: int = -1
) -> None:
    """Watch the replica at ``url`` (one task per worker); ``primary_position``: the primary's WAL position."""
    global _replica
    await stop()
    _replica = Replica(url, max_lag_s, statement_cache_size)
    await _replica.start(primary_position)


async def stop() -> None:
    global _replica
    if _replica is not None:
        await _replica.stop()
    _replica = None


def wanted() -> bool:
    return _wanted.get()


def prefer() -> None:
    """This request's reads outside a transaction may come from the replica (set by the request's first hook)."""
    _wanted.set(True)


@contextlib.contextmanager
def reads() -> Iterator[None]:
    """Reads inside this block may come from the replica."""
    token = _wanted.set(True)
    try:
        yield
    finally:
        _wanted.reset(token)


@contextlib.contextmanager
def primary_only() -> Iterator[None]:
    token = _wanted.set(False)
    try:
        yield
    finally:
        _wanted.reset(token)
