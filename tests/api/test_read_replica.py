"""Issue 31 item 4: reads that may lag go to a real streaming standby (``pg_basebackup``) while it keeps up; a
resident's remaining cap (R4) never does, and a standby that lags or is down is skipped for the primary.

A PostgreSQL-only file (a replica is a PostgreSQL thing): the suite's ``database`` here is a primary cluster of its
own, since the shared test cluster refuses replication connections.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import msgspec
import pytest
import pytest_asyncio
from litestar.testing import AsyncTestClient

from member_api import db
from member_api.app import create_app
from member_api.core import replica
from member_api.settings import Settings
from tests.helpers import member_headers, staff_headers
from tests.helpers.replica import Pair, primary_and_standby

DATABASE = "member_api_replica"


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with primary_and_standby() as running:
        yield running


@pytest.fixture(scope="module")
def db_kind() -> str:
    return "postgres"


@pytest_asyncio.fixture(scope="module")
async def database(pair: Pair, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    admin = await asyncpg.connect(pair.primary_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    url = pair.primary_admin_url.rsplit("/", 1)[0] + f"/{DATABASE}"
    data_dir = tmp_path_factory.mktemp("data-replica")
    settings = Settings(
        database_url=url,
        read_database_url=pair.standby_url(DATABASE),
        data_dir=str(data_dir),
        sms_backend=f"file:{data_dir / 'sms.jsonl'}",
        log_level="WARNING",
    )
    engine = db.make_engine(url)
    db.activate(engine)
    await db.prepare(engine, pool=False)
    await db.run_migrations()
    yield {"kind": "postgres", "url": url, "settings": settings, "engine": engine, "data_dir": data_dir}
    await db.close(engine)


async def _until(condition: Any, within_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def _standby(pair: Pair, sql: str) -> Any:
    conn = await asyncpg.connect(pair.standby_url(DATABASE))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def _app(database: dict[str, Any], world: dict[str, Any], clock: Any, max_lag_s: float) -> Any:
    settings = msgspec.structs.replace(database["settings"], read_max_lag_s=max_lag_s)
    app = create_app(settings, clock=clock, engine=database["engine"])
    client = AsyncTestClient(app=app, raise_server_exceptions=False)
    client.world, client.settings, client.clock = world, settings, clock
    return client


async def _settle(client: Any, clerk: dict[str, str], id_number: str) -> dict[str, Any]:
    body = {"visit_date": client.world["today"], "id_number": id_number, "compliant_fen": 1000}
    response = await client.post(
        "/v1/counter/settlements", json=body, headers={**clerk, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_r4_agency_reads_use_the_replica_and_the_remaining_cap_never_does(database, world, clock, pair):
    async with await _app(database, world, clock, max_lag_s=60) as client:
        used = replica.current()
        assert used is not None
        await _until(lambda: used.usable)
        officer = await staff_headers(client, "officer_agency")
        clerk = await staff_headers(client, "clerk_zj_dh")
        member = await member_headers(client)
        before = used.reads
        books = await client.get("/v1/agency/capitation", headers=officer)
        assert books.status_code == 200, books.text
        assert used.reads > before  # answered by the standby
        # The standby stops replaying: it is now behind, though within the minute this app allows.
        await _standby(pair, "SELECT pg_wal_replay_pause()")
        try:
            settled = await _settle(client, clerk, world["members"][0]["id_number"])
            before = used.reads
            benefits = await client.get("/v1/me/benefits", headers=member)
            assert benefits.status_code == 200
            assert used.reads == before  # the cap is read from the primary ...
            remaining = benefits.json()
            assert remaining["used_fen"] == settled["fund_fen"]  # ... so it counts the settlement just made
        finally:
            await _standby(pair, "SELECT pg_wal_replay_resume()")


async def test_a_lagging_replica_is_skipped_until_it_catches_up(database, world, clock, pair):
    async with await _app(database, world, clock, max_lag_s=0.5) as client:
        used = replica.current()
        assert used is not None
        await _until(lambda: used.usable)
        officer = await staff_headers(client, "officer_agency")
        clerk = await staff_headers(client, "clerk_zj_dh")
        await _standby(pair, "SELECT pg_wal_replay_pause()")
        try:
            await _settle(client, clerk, world["members"][0]["id_number"])
            await _until(lambda: not used.usable)  # behind by more than half a second: skipped
            before = used.reads
            assert (await client.get("/v1/agency/capitation", headers=officer)).status_code == 200
            assert used.reads == before  # the primary answered
        finally:
            await _standby(pair, "SELECT pg_wal_replay_resume()")
        await _until(lambda: used.usable)  # caught up: in use again


async def test_a_replica_that_is_down_is_skipped(database, world, clock, pair):
    async with await _app(database, world, clock, max_lag_s=5) as client:
        used = replica.current()
        assert used is not None
        await _until(lambda: used.usable)
        officer = await staff_headers(client, "officer_agency")
        await asyncio.to_thread(pair.stop_standby)
        try:
            before = used.reads
            books = await client.get("/v1/agency/capitation", headers=officer)  # may find it down mid-query
            assert books.status_code == 200, books.text
            await _until(lambda: not used.usable)
            assert (await client.get("/v1/agency/capitation", headers=officer)).status_code == 200
            assert used.reads == before
        finally:
            await asyncio.to_thread(pair.start_standby)
