"""Helpers for benchmark scripts: a fresh PostgreSQL database per run, migrated by the project's migrations."""

from __future__ import annotations

import os
import platform
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

import asyncpg

from member_api import db

ADMIN_URL = os.environ.get("MEMBER_API_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {date.today()}"


@asynccontextmanager
async def fresh_postgres(migrate: bool = True) -> AsyncIterator[str]:
    name = f"member_api_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    engine = db.make_engine(url)
    db.activate(engine)
    await db.prepare(engine)
    try:
        if migrate:
            await db.run_migrations()
        yield url
    finally:
        await db.close(engine)
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
