"""End-to-end fixtures: a Slack driver aimed at `irbot serve`, and seeded people."""

from __future__ import annotations

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
