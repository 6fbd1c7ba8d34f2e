"""End-to-end fixtures: a Slack driver aimed at `irbot serve`, and seeded people."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.driver import SlackDriver, form_values, wait_for
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


def open_incident(driver: SlackDriver, sandbox: Any, user: str, origin: str,
                  fill: dict[str, Any]) -> dict[str, Any]:
    """Create an incident through the modal, as a responder would; wait until it is ready."""
    reply = driver.command("create", user, origin, "security")
    assert reply.status == 200, reply
    view = driver.opened_view(reply.trigger_id)
    before = {e["message_ts"] for e in sandbox.ephemerals}
    answer = driver.submit(view, form_values(view, fill), user)
    assert answer.status == 200 and answer.body in ("", {}), answer
    ready = wait_for(lambda: next((e for e in sandbox.ephemerals
                                   if e["message_ts"] not in before and e["user"] == user
                                   and "is ready: <#" in e["text"]), None),
                     timeout=40, what="the incident to be ready")
    channel_id = ready["text"].split("<#", 1)[1].split(">", 1)[0].split("|", 1)[0]
    channel = sandbox.channel(channel_id)
    key = channel["name"].removeprefix("incident_channel_").upper()
    return {"channel_id": channel_id, "name": channel["name"], "key": key}


@pytest.fixture
def incident(driver: SlackDriver, sandbox: Any, people: dict[str, str],
             security: str) -> dict[str, Any]:
    """A fresh incident with a new Jira case, alice and bob in it."""
    return open_incident(driver, sandbox, people["alice"], security, {
        "people": [people["bob"]], "title": "Test incident", "severity": "SEV-2",
        "new_case": True})


# The machine's PostgreSQL (developer machines and CI: trust auth on loopback); another server
# through IRBOT_TEST_POSTGRES, a URL without a database name.
POSTGRES_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this session's own on the real PostgreSQL, created by irbot's own code
    (as `irbot topology` creates a missing one) and dropped at the end. Skipped, saying why,
    only where no PostgreSQL answers."""
    from webhook.prefect_db import DatabaseUnreachable, drop_database, ensure_database

    server = os.environ.get("IRBOT_TEST_POSTGRES", POSTGRES_SERVER).rstrip("/")
    url = f"{server}/irbot_test_{uuid.uuid4().hex[:12]}"
    try:
        created = ensure_database(url)
    except DatabaseUnreachable as exc:
        pytest.skip(f"no PostgreSQL reachable, so the scale-out tests cannot run: {exc} "
                    "(start one with trust auth on 127.0.0.1:5432, or set IRBOT_TEST_POSTGRES)")
    assert created, url
    try:
        yield url
    finally:
        drop_database(url)
