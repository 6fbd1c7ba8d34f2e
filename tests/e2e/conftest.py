"""End-to-end fixtures: a Slack driver aimed at `irbot serve`, and seeded people."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.driver import SlackDriver
from tests.conftest import SIGNING_SECRET


@pytest.fixture(scope="session")
def driver(irbot_serve: str, sandbox: Any) -> Iterator[SlackDriver]:
    """Signed requests exactly as Slack sends them."""
    d = SlackDriver(irbot_serve, SIGNING_SECRET, sandbox)
    yield d
    d.close()


@pytest.fixture(scope="session")
def people(sandbox: Any) -> dict[str, str]:
    """Responders: name → user id (dave is deactivated)."""
    return {
        "alice": sandbox.add_user("alice", "Alice Liddell"),
        "bob": sandbox.add_user("bob", "Bob Builder"),
        "carol": sandbox.add_user("carol", "Carol Exec"),
        "dave": sandbox.add_user("dave", "Dave Gone", deleted=True),
    }


@pytest.fixture(scope="session")
def security(sandbox: Any, people: dict[str, str]) -> str:
    """The channel responders type `/irbot create` in."""
    return str(sandbox.add_channel("security", members=list(people.values())))
