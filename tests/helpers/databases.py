"""Throw-away PostgreSQL databases for a test session or a server process, and the SMS file backend's codes."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import asyncpg
import pytest

from member_api.settings import Settings

PG_ADMIN_URL = os.environ.get("MEMBER_API_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


async def create_pg_database() -> tuple[str, str] | None:
    name = f"member_api_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is unreachable under CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable ({exc}); set MEMBER_API_TEST_POSTGRES_URL")
        return None
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}", name


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def last_sms_code(settings: Settings, phone: str) -> str:
    path = Path(settings.resolved_sms_backend.removeprefix("file:"))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return next(m["code"] for m in reversed(lines) if m["phone"] == phone)
