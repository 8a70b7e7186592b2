"""Which e-credentials a counter settled, pushed to the open credential screens of this worker process.

PostgreSQL: a trigger on the movement table sends ``NOTIFY credential_used, '<jti>'`` inside the money
transaction (PostgreSQL delivers it at commit, to every listening session, whichever worker or host settled).
Each worker holds ONE listening connection, outside the pool and outside PgBouncer (``LISTEN`` is session state,
which a transaction-mode pooler does not keep), and wakes the screens waiting for that jti. A screen's codes are
checked once when it starts waiting (the counter may have been faster than the stream), batched with every other
screen that started meanwhile into one query, unless this worker's listener has been connected since the code was
last checked (then a use would have been heard: the hub remembers the codes used in the last minutes); after the
listener lost its connection it reconnects by itself and checks all waiting codes in one query, so nothing missed
while it was away stays missed. Open screens, and screens reopening their stream, cost the database nothing.

SQLite has no NOTIFY: one query per worker every ``SQLITE_POLL_S`` checks all waiting codes (however many screens
are open), which also works across the worker processes sharing the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator

from member_api import db
from member_api.ledger import queries

CHANNEL = "credential_used"
LISTENER_NAME = "member-api-listen"
SQLITE_POLL_S = 0.5
HEARTBEAT_S = 15.0
RECONNECT_MAX_S = 5.0
CHECK_CHUNK = 500
BATCH_S = 0.05
REMEMBER_S = 900.0
log = logging.getLogger("member_api.credential_events")


class CredentialEvents:
    """One per worker: jti -> the futures of the screens waiting for it."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Future[str]]] = {}
        self._unchecked: set[str] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._connection: object | None = None
        self._listening_since: float | None = None
        self._covered: dict[str, float] = {}
        """jti -> when it was last known unused (a check's start, or a watch's end, while listening)."""
        self._used: dict[str, float] = {}
        """jti -> when its NOTIFY came: codes used in the last ``REMEMBER_S``."""
        self.listening = asyncio.Event()
        """Set while the listener's connection is up (tests and the benchmark wait for it)."""
        self.checks = 0
        """Catch-up queries sent (the benchmark reports statements from open screens)."""

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def start(self, listen_url: str | None) -> None:
        """``listen_url``: a direct PostgreSQL connection string; ``None`` on SQLite (poll instead)."""
        if self._tasks:
            return
        self._tasks.append(asyncio.create_task(self._checker(poll=listen_url is None)))
        if listen_url is not None:
            self._tasks.append(asyncio.create_task(self._listener(listen_url)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self.listening.clear()

    def _heard_since_covered(self, jti: str) -> bool:
        """Whether a use of ``jti`` since it was last known unused would have been heard (listener up since)."""
        since = self._listening_since
        return since is not None and self._covered.get(jti, -1.0) >= since

    @contextlib.contextmanager
    def watching(self, jtis: Iterable[str]) -> Iterator[Callable[[float], Awaitable[str | None]]]:
        """Watch ``jtis`` for a screen's stream: yields ``wait(timeout)``, the first of them used, else ``None``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        keys = set(jtis)
        for jti in keys:
            self._waiting.setdefault(jti, set()).add(future)
            if jti in self._used:
                if not future.done():
                    future.set_result(jti)
            elif not self._heard_since_covered(jti):
                self._unchecked.add(jti)
        if self._unchecked:
            self._wake.set()

        async def wait(timeout: float) -> str | None:  # noqa: ASYNC109 - one deadline per call
            try:
                return await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                return None

        try:
            yield wait
        finally:
            now = time.monotonic()
            for jti in keys:
                if jti not in self._used and self._heard_since_covered(jti):
                    self._covered[jti] = now  # unused until now, and a use from now on would be heard
                waiters = self._waiting.get(jti)
                if waiters is not None:
                    waiters.discard(future)
                    if not waiters:
                        del self._waiting[jti]
            future.cancel()

    async def wait(self, jtis: Iterable[str], timeout: float) -> str | None:  # noqa: ASYNC109 - one deadline per call
        """The first of ``jtis`` a counter settled within ``timeout`` seconds, else ``None``."""
        with self.watching(jtis) as waiter:
            return await waiter(timeout)

    def _fire(self, jti: str) -> None:
        self._used[jti] = time.monotonic()
        for future in self._waiting.get(jti, ()):
            if not future.done():
                future.set_result(jti)

    def _forget_old(self) -> None:
        horizon = time.monotonic() - REMEMBER_S
        for memory in (self._used, self._covered):
            if len(memory) > 1000:
                for jti in [j for j, at in memory.items() if at < horizon]:
                    del memory[jti]

    async def _check(self, jtis: set[str]) -> None:
        """One query per ``CHECK_CHUNK`` codes: fire those already settled, remember the others as covered."""
        started = time.monotonic()
        listening_before = self._listening_since is not None and self._listening_since <= started
        codes = sorted(jtis)
        for start in range(0, len(codes), CHECK_CHUNK):
            chunk = codes[start : start + CHECK_CHUNK]
            self.checks += 1
            used = set(await queries.used_jtis(chunk))
            for jti in chunk:
                if jti in used:
                    self._fire(jti)
                elif listening_before:
                    self._covered[jti] = max(self._covered.get(jti, -1.0), started)

    async def _checker(self, poll: bool) -> None:
        while True:
            if poll:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), SQLITE_POLL_S)
            else:
                await self._wake.wait()
                await asyncio.sleep(BATCH_S)  # screens opening together are checked together
            self._wake.clear()
            todo = set(self._waiting) if poll else self._unchecked & set(self._waiting)
            self._unchecked.clear()
            self._forget_old()
            if not todo:
                continue
            try:
                await self._check(todo)
            except Exception:  # the database is away: check them again shortly
                log.warning("credential_check_failed", exc_info=True)
                self._unchecked |= todo
                await asyncio.sleep(1.0)
                self._wake.set()

    async def _listener(self, url: str) -> None:
        import asyncpg  # only a PostgreSQL deployment listens; SQLite ones never load the driver here

        delay = 0.1
        while True:
            lost = asyncio.Event()
            connection = None
            try:
                connection = await asyncpg.connect(
                    url, timeout=10, statement_cache_size=0, server_settings={"application_name": LISTENER_NAME}
                )
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(CHANNEL, lambda _c, _pid, _channel, payload: self._fire(payload))
                self._connection = connection
                self._listening_since = time.monotonic()
                self.listening.set()
                delay = 0.1
                # Anything settled while no one listened: check every waiting code once (one query).
                self._unchecked |= set(self._waiting)
                self._wake.set()
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), HEARTBEAT_S)
                    if not lost.is_set():
                        await connection.execute("SELECT 1")  # a silent network loss shows here
            except asyncio.CancelledError:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.close(), 2)
                raise
            except Exception as exc:
                log.warning("credential_listener_lost", extra={"error": type(exc).__name__})
            self.listening.clear()
            self._listening_since = None
            self._connection = None
            if connection is not None:
                connection.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)


_hub = CredentialEvents()


def hub() -> CredentialEvents:
    return _hub


async def start(listen_url: str | None) -> None:
    """Start this worker's hub (from the app's lifespan): a listener on PostgreSQL, a poller on SQLite."""
    global _hub
    if _hub.running:
        await _hub.stop()
    _hub = CredentialEvents()
    engine = db.current_engine()
    _hub.start(None if db.is_sqlite(engine) else listen_url)


async def stop() -> None:
    await _hub.stop()
