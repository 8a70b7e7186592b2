"""A real multi-process server on its own database, for load, race and crash tests."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.helpers.databases import create_pg_database, drop_pg_database

BIN = Path(sys.executable).parent / "member-api"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str], data_dir: Path, workers: int) -> None:
        self.env, self.data_dir, self.workers = env, data_dir, workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.serve_env: dict[str, str] = {}
        """Overrides for the server process only (a database URL through a proxy, a timeout), not the CLI."""

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(BIN), *args],
            env=self.env,
            input=stdin.encode() if stdin else None,
            capture_output=True,
            timeout=120,
            check=True,
        )
        return done.stdout.decode()

    def start(self) -> None:
        log = open(self.data_dir / "server.log", "ab")
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--no-migrate", "--port", str(self.port), "--workers", str(self.workers)],
            env={**self.env, **self.serve_env},
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120  # workers import the whole app; a loaded CI machine is slow
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become ready: " + (self.data_dir / "server.log").read_text()[-2000:])

    def workers_pids(self) -> list[int]:
        """The worker processes (children of the granian main process)."""
        assert self.proc is not None
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:
                    found.append(int(entry.name))
        return sorted(found)

    def kill(self) -> None:
        """SIGKILL the whole process group: no graceful shutdown, as in a crash."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=10)


@asynccontextmanager
async def running_server(
    kind: str,
    tmp_path: Path,
    workers: int = 2,
    env: Callable[[str], dict[str, str]] | None = None,
    walk: bool = False,
    serve_env: dict[str, str] | None = None,
    route_database: Callable[[str], str] | None = None,
) -> AsyncIterator[Server]:
    """``env``: given the database's direct URL, more environment for the server and its commands (e.g. a pooler in
    between); ``walk``: seed the README walk's data too (a newborn draft, a claim to review, a pending change
    request); ``serve_env``: extra environment of the server process only; ``route_database``: the URL the server
    uses instead of the database's own (through a proxy), while migrations and demo data go direct."""
    pg_name = None
    if kind == "postgres":
        created = await create_pg_database()
        assert created is not None
        url, pg_name = created
    else:
        url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    env = {
        **os.environ,
        "MEMBER_API_DATABASE_URL": url,
        "MEMBER_API_DATA_DIR": str(tmp_path),
        "MEMBER_API_LOG_LEVEL": "WARNING",
        "MEMBER_API_DB_POOL": "8",
        **(env(url) if env is not None else {}),
    }
    server = Server(env, tmp_path, workers)
    server.serve_env = dict(serve_env or {})
    if route_database is not None:
        server.serve_env["MEMBER_API_DATABASE_URL"] = route_database(url)
    try:
        await asyncio.to_thread(server.cli, "migrate")
        seed = ["seed-demo", "--manifest", str(tmp_path / "manifest.json"), *([] if walk else ["--no-walk"])]
        await asyncio.to_thread(server.cli, *seed)
        await asyncio.to_thread(server.start)  # not blocking the loop: a proxy in this process must run
        yield server
    finally:
        server.kill()
        if pg_name:
            await drop_pg_database(pg_name)
