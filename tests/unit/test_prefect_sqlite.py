"""The embedded server's SQLite configuration, on a real SQLite file: a write transaction that
has read while another connection committed a write waits its turn instead of failing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prefect.server.database.configurations import AioSqliteConfiguration
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from webhook.prefect_sqlite import ImmediateWrites


async def _read_then_write_across_a_commit(config: AioSqliteConfiguration) -> list[int]:
    """Run 1 reads, run 2 writes and commits, run 1 writes: Prefect's pattern under a burst."""
    engine = await config.engine()
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
    first_read, second_done = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        session = await config.session(engine)
        async with session, config.begin_transaction(session):
            await session.execute(text("SELECT count(*) FROM t"))
            first_read.set()
            # With the write lock taken up front, the second waits for us: do not wait forever.
            try:
                await asyncio.wait_for(second_done.wait(), 0.5)
            except TimeoutError:
                pass
            await session.execute(text("INSERT INTO t VALUES (1)"))

    async def second() -> None:
        await first_read.wait()
        session = await config.session(engine)
        async with session, config.begin_transaction(session):
            await session.execute(text("INSERT INTO t VALUES (2)"))
        second_done.set()

    try:
        await asyncio.gather(first(), second())
        async with engine.connect() as conn:
            return sorted(row[0] for row in await conn.execute(text("SELECT x FROM t")))
    finally:
        await engine.dispose()


async def test_immediate_writes_wait_their_turn(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}"
    assert await _read_then_write_across_a_commit(ImmediateWrites(connection_url=url)) == [1, 2]


async def test_prefects_default_fails_the_same_pattern(tmp_path: Path) -> None:
    """Why ImmediateWrites exists; when Prefect's default passes this, it can go."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}"
    with pytest.raises(OperationalError, match="database is locked"):
        await _read_then_write_across_a_commit(AioSqliteConfiguration(connection_url=url))
