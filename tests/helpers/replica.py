"""A PostgreSQL primary and a streaming standby made by ``pg_basebackup``, each on a free port, for the test run.

The shared test cluster allows no replication connections (its pg_hba.conf has no ``replication`` line) and must
never be restarted, so the primary is a cluster of our own (``initdb``, trust on 127.0.0.1, WAL for replicas) in a
temporary directory, run by ``pg_ctl`` as the postgres user. Durability is off (fsync) to keep set-up short.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.databases import IN_CI
from tests.helpers.serverproc import free_port

RUN_AS = "postgres"
PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{dir}'
wal_level = replica
max_wal_senders = 4
max_connections = 60
shared_buffers = 16MB
fsync = off
synchronous_commit = off
full_page_writes = off
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s
"""


def _bin(name: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        message = f"{name} (PostgreSQL server binaries) is not installed"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def _as_postgres(*command: str) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", RUN_AS, "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=180, check=True)


@dataclass
class Pair:
    root: Path
    primary_port: int
    standby_port: int

    @property
    def primary_admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.primary_port}/postgres"

    def standby_url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.standby_port}/{database}"

    def stop_standby(self) -> None:
        _as_postgres(_bin("pg_ctl"), "-D", str(self.root / "standby"), "-m", "fast", "-w", "stop")

    def start_standby(self) -> None:
        _as_postgres(
            _bin("pg_ctl"), "-D", str(self.root / "standby"), "-l", str(self.root / "standby.log"), "-w", "start"
        )


@contextmanager
def primary_and_standby() -> Iterator[Pair]:
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("runuser is missing: cannot run PostgreSQL as the postgres user")
    root = Path(tempfile.mkdtemp(prefix="member-api-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, RUN_AS)
    pair = Pair(root, free_port(), free_port())
    primary, standby = root / "primary", root / "standby"
    started: list[Path] = []
    try:
        _as_postgres(_bin("initdb"), "-D", str(primary), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(PRIMARY_CONF.format(port=pair.primary_port, dir=root))
        _as_postgres(_bin("pg_ctl"), "-D", str(primary), "-l", str(root / "primary.log"), "-w", "start")
        started.append(primary)
        _as_postgres(
            _bin("pg_basebackup"),
            "-h", "127.0.0.1", "-p", str(pair.primary_port), "-U", "postgres",
            "-D", str(standby), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync",
        )  # fmt: skip
        with open(standby / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {pair.standby_port}\n")
        pair.start_standby()
        started.append(standby)
        yield pair
    finally:
        prefix = ["runuser", "-u", RUN_AS, "--"] if os.geteuid() == 0 else []
        for data in reversed(started):
            subprocess.run(
                [*prefix, _bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)
