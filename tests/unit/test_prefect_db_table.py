"""`irbot topology`'s database URL: PostgreSQL only, and never shown with its password."""

from __future__ import annotations

import pytest

from webhook.prefect_db import DEFAULT_URL, DatabaseError, database_url, describe


def test_the_default_is_the_local_trust_postgresql() -> None:
    assert database_url({}) == DEFAULT_URL
    assert describe(DEFAULT_URL) == "PostgreSQL database irbot_prefect on 127.0.0.1:5432"


@pytest.mark.parametrize("name", ["PREFECT_API_DATABASE_CONNECTION_URL",
                                  "PREFECT_SERVER_DATABASE_CONNECTION_URL"])
def test_prefects_own_variables_name_it(name: str) -> None:
    url = "postgresql+asyncpg://irbot:pw@db.internal:6543/prefect"
    assert database_url({name: url}) == url


def test_sqlite_is_refused_for_serve_is_the_sqlite_setup() -> None:
    with pytest.raises(DatabaseError, match="irbot serve"):
        database_url({"PREFECT_API_DATABASE_CONNECTION_URL": "sqlite+aiosqlite:///prefect.db"})


def test_a_password_is_never_shown() -> None:
    said = describe("postgresql+asyncpg://irbot:hunter2secret@db.internal:6543/prefect")
    assert said == "PostgreSQL database prefect on db.internal:6543"
    assert "hunter2" not in said
