"""The Prefect server's PostgreSQL database (`irbot topology`): its URL, created when missing.

Prefect migrates an empty database itself, but does not create one; asyncpg (Prefect's own
PostgreSQL driver) does that here, through the server's maintenance database `postgres`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import asyncpg
from sqlalchemy.engine import URL, make_url

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/irbot_prefect"
URL_VARIABLES = ("PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL")
_CONNECT_TIMEOUT_SECONDS = 10.0


class DatabaseError(RuntimeError):
    """The database URL is not PostgreSQL's, or the server refused us."""


class DatabaseUnreachable(DatabaseError):
    """Nothing answers at the URL's host and port."""


def database_url(env: Mapping[str, str]) -> str:
    """The connection URL Prefect's server will use (PostgreSQL only: the point of scaling)."""
    url = next((env[name] for name in URL_VARIABLES if env.get(name)), DEFAULT_URL)
    if make_url(url).get_backend_name() != "postgresql":
        raise DatabaseError(f"{URL_VARIABLES[0]} must name a PostgreSQL database "
                            "(postgresql+asyncpg://…); `irbot serve` is the SQLite setup")
    return url


def describe(url: str) -> str:
    """Where the database is, for people: never its password."""
    parsed = make_url(url)
    return f"PostgreSQL database {parsed.database} on {parsed.host}:{parsed.port or 5432}"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _connect(parsed: URL, database: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(
            host=parsed.host, port=parsed.port or 5432, user=parsed.username,
            password=parsed.password, database=database, timeout=_CONNECT_TIMEOUT_SECONDS)
    except (TimeoutError, OSError) as exc:
        raise DatabaseUnreachable(f"no answer from the {describe(parsed.render_as_string())}: "
                                  f"{type(exc).__name__}: {exc}") from exc
    except asyncpg.PostgresError as exc:
        raise DatabaseError(f"the {describe(parsed.render_as_string())} refused us: "
                            f"{type(exc).__name__}: {exc}") from exc


async def _ensure(url: str) -> bool:
    parsed = make_url(url)
    if not parsed.database:
        raise DatabaseError(f"{URL_VARIABLES[0]} names no database")
    conn = await _connect(parsed, "postgres")
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", parsed.database):
            return False
        try:
            await conn.execute(f"CREATE DATABASE {_quoted(parsed.database)}")
        except asyncpg.DuplicateDatabaseError:
            return False  # created meanwhile by someone else
        return True
    finally:
        await conn.close()


def ensure_database(url: str) -> bool:
    """Create the URL's database unless it exists; True when it was created."""
    return asyncio.run(_ensure(url))


async def _drop(url: str) -> None:
    parsed = make_url(url)
    conn = await _connect(parsed, "postgres")
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quoted(str(parsed.database))} "
                           "WITH (FORCE)")
    finally:
        await conn.close()


def drop_database(url: str) -> None:
    """Drop the URL's database, closing its connections (PostgreSQL 13+): for tests."""
    asyncio.run(_drop(url))
