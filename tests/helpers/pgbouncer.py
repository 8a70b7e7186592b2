"""A PgBouncer in transaction mode in front of the test PostgreSQL, on a free port (Debian's ``pgbouncer``).

Installed with apt-get when missing (as the browser tests install Chromium); under CI an unavailable PgBouncer is a
failure, never a skip. Every database name is passed through to the same-named database upstream.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.helpers.databases import IN_CI, PG_ADMIN_URL
from tests.helpers.serverproc import free_port

PGBOUNCER = Path(os.environ.get("MEMBER_API_PGBOUNCER", "/usr/sbin/pgbouncer"))
RUN_AS = "postgres"  # PgBouncer refuses to run as root

CONFIG = """[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {dir}/users.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = {pool}
max_client_conn = 1000
logfile = {dir}/pgbouncer.log
pidfile = {dir}/pgbouncer.pid
ignore_startup_parameters = extra_float_digits
"""


def _apt_install(package: str) -> bool:
    """apt-get install under the lock the browser tests use, so parallel test workers do not fight over dpkg."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return False
    with open("/tmp/member-api-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", package]):
            if subprocess.run(command, env=env, capture_output=True, timeout=900).returncode != 0:
                return False
    return True


def pgbouncer_binary() -> Path:
    if not PGBOUNCER.exists():
        _apt_install("pgbouncer")
    if not PGBOUNCER.exists():
        message = f"PgBouncer is not at {PGBOUNCER} and apt-get could not install it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return PGBOUNCER


def through(url: str, port: int) -> str:
    """``url`` with PgBouncer's address in place of the database server's."""
    parts = urlsplit(url)
    netloc = (parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else "") + f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@contextmanager
def running_pgbouncer(work_dir: Path, pool_size: int = 10) -> Iterator[int]:
    """Start PgBouncer (transaction mode) in front of ``PG_ADMIN_URL``'s server; yields its port."""
    binary = pgbouncer_binary()
    upstream = urlsplit(PG_ADMIN_URL)
    work_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    user = upstream.username or "postgres"
    (work_dir / "users.txt").write_text(f'"{user}" ""\n')
    ini = work_dir / "pgbouncer.ini"
    ini.write_text(
        CONFIG.format(
            host=upstream.hostname or "127.0.0.1", port=upstream.port or 5432, listen=port, dir=work_dir, pool=pool_size
        )
    )
    command = [str(binary), str(ini)]
    if os.geteuid() == 0:
        shutil.chown(work_dir, RUN_AS)
        for path in work_dir.iterdir():
            shutil.chown(path, RUN_AS)
        os.chmod(work_dir, 0o755)
        for parent in work_dir.parents:  # PgBouncer (as postgres) must reach its files under pytest's temp dir
            if parent == Path("/tmp") or parent == Path("/"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o711)
        command = [str(binary), "-u", RUN_AS, str(ini)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = work_dir / "pgbouncer.log"
                    raise RuntimeError(
                        "PgBouncer did not start: " + (log.read_text() if log.exists() else "")
                    ) from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def show(port: int, what: str) -> list[dict[str, str]]:
    """A PgBouncer admin console listing (``SHOW <what>``), via psql (the console speaks the simple protocol only)."""
    console = ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "pgbouncer", "-A", "-F", "\t"]
    out = subprocess.run(
        [*console, "-c", f"SHOW {what}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.splitlines()
    header = out[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=False)) for line in out[1:] if "\t" in line]
