"""`prefect server start` on SQLite, with every write transaction begun IMMEDIATE.

Prefect begins its SQLite write transactions DEFERRED: one that has read and then writes while
another connection writes (the server recording a run's task events, say) fails at once with
"database is locked" (SQLite does not wait when a reader upgrades), and the client answers the
503 with a 2 s backoff, in the middle of a create. Begun IMMEDIATE, a write waits for the lock
(Prefect's busy_timeout) instead, which is what Prefect's own comment on the setup advises.
Prefect's dependency injection (`set_database_config`) takes the configuration; the server is
Prefect's own CLI, in this process. PostgreSQL servers are left as they are.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from prefect.server.database.configurations import AioSqliteConfiguration
from prefect.server.database.dependencies import set_database_config
from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction

# How long a write waits for the lock before the server answers 503 (the client then backs off,
# as with Prefect's own configuration). Prefect waits 60 s; with that, the full test suite on
# 2 cores lost a Cancel click to the archive's deadline (a waiting write holds one of the
# engine's pooled connections, so reads can queue behind waiting writes). Two seconds covers
# every wait a single create meets here.
BUSY_TIMEOUT_MS = 2000


class ImmediateWrites(AioSqliteConfiguration):
    """Prefect's SQLite configuration, its write transactions taking the write lock first."""

    def setup_sqlite(self, conn: Any, record: Any) -> None:
        super().setup_sqlite(conn, record)
        cursor = conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};")
        cursor.close()

    @asynccontextmanager
    async def begin_transaction(
        self, session: AsyncSession, with_for_update: bool = False
    ) -> AsyncGenerator[AsyncSessionTransaction, None]:
        async with super().begin_transaction(session, with_for_update=True) as transaction:
            yield transaction


def main() -> None:
    url = PREFECT_API_DATABASE_CONNECTION_URL.value()
    if url and url.startswith("sqlite"):
        set_database_config(ImmediateWrites(connection_url=url))
    from prefect.cli import app  # after the configuration is set
    app()


if __name__ == "__main__":
    main()
