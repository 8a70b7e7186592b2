"""Notice outbox drain rate (issue 30): N notices pushed by K concurrent drainers, each notice exactly once.

    .venv/bin/python -m benchmarks.outbox_drain [--notices 3000] [--drainers 2] [--batch 50] [--db sqlite|postgres]

A fresh database migrated by the project's migrations; one member; N notices in the outbox; K drainers in one
process (as K workers' push loops would) pushing to a sender that only records ids. Prints notices per second and
checks that every notice was pushed once.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import fresh_postgres, machine
from member_api import db
from member_api.core.push import OutgoingNotice
from member_api.notices import queries
from member_api.notices.service import deliver_pending

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.sent: Counter[int] = Counter()

    async def send(self, notice: OutgoingNotice, at: datetime) -> None:
        self.sent[notice.id] += 1


@asynccontextmanager
async def database(kind: str) -> Any:
    if kind == "postgres":
        async with fresh_postgres() as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        engine = db.make_engine(url)
        db.activate(engine)
        await db.prepare(engine)
        await db.run_migrations()
        try:
            yield url
        finally:
            await db.close(engine)


async def run(kind: str, notices: int, drainers: int, batch: int) -> None:
    async with database(kind):
        await db.fetch(
            "INSERT INTO member (insurance_no, name, id_hash, id_masked, birth_date, sex, division, phone_masked,"
            " credential_subject) VALUES ('B1', 'bench', 'h', 'm', '1980-01-01', 'M', '440203', '', 'cs-b1')"
        )
        member = (await db.fetch("SELECT id FROM member"))[0]["id"]
        async with db.write_transaction():
            for n in range(notices):
                await queries.insert([member], member, "counter", f"bench {n}", NOW)
        recorder = Recorder()

        async def drain() -> None:
            while await deliver_pending(recorder, NOW, batch=batch):
                pass

        started = time.perf_counter()
        await asyncio.gather(*(drain() for _ in range(drainers)))
        elapsed = time.perf_counter() - started
        twice = [i for i, n in recorder.sent.items() if n > 1]
        print(f"machine: {machine()}")
        print(
            f"{kind}: {notices} notices, {drainers} drainers, batch {batch}: {elapsed:.2f} s, "
            f"{notices / elapsed:.0f} notices/s; pushed {len(recorder.sent)}, twice {len(twice)}"
        )
        assert len(recorder.sent) == notices and not twice


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=3000)
    parser.add_argument("--drainers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    args = parser.parse_args()
    asyncio.run(run(args.db, args.notices, args.drainers, args.batch))


if __name__ == "__main__":
    main()
