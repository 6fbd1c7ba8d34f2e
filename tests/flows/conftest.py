"""Layer-2 fixtures: flows run in this process against the sandbox and the session's Prefect API.

The sandbox is shared by the whole session, so every test seeds its own users, channels and
Jira cases, and assertions filter recorded requests by the channel or case they concern.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.flows.support import clear_faults, unique


@pytest.fixture(scope="session", autouse=True)
def _ship_prefect_logs_while_the_api_is_up(prefect_api: str) -> Iterator[None]:
    """Flows run here queue logs and events for the API: send them before the server stops,
    or the interpreter spends a minute at exit retrying a server that is gone."""
    yield
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)


@pytest.fixture(autouse=True)
def _no_leftover_faults(sandbox: Any) -> Iterator[None]:
    """A fault a test injected but did not use must not hit the next test."""
    clear_faults(sandbox)
    yield
    clear_faults(sandbox)


@pytest.fixture(scope="session")
def crew(sandbox: Any) -> dict[str, str]:
    """People for layer-2 tests: name → user id (gone is deactivated)."""
    return {
        "ann": sandbox.add_user("ann", "Ann Flow"),
        "ben": sandbox.add_user("ben", "Ben Flow"),
        "cat": sandbox.add_user("cat", "Cat Flow"),
        "gone": sandbox.add_user("gone", "Gone Flow", deleted=True),
    }


@pytest.fixture(scope="session")
def origin(sandbox: Any, crew: dict[str, str]) -> str:
    """The channel people type `/irbot create` in (crew and the bot are members)."""
    return str(sandbox.add_channel("security-flows", members=[crew["ann"], crew["ben"],
                                                              crew["cat"]]))


@pytest.fixture
def seed_incident(sandbox: Any, settings_env: dict[str, str],
                  crew: dict[str, str]) -> Callable[..., dict[str, str]]:
    """An incident as create-incident leaves it: a Jira case, a channel, the state and its lock."""
    from tasks.state import IncidentState, create_lock, save_incident

    def make(members: list[str] | None = None) -> dict[str, str]:
        key = sandbox.jira_create_issue(unique("Backup flow test"))
        name = unique("bk")
        channel_id = sandbox.add_channel(name, members=members or [crew["ann"], crew["ben"]])
        create_lock(channel_id)
        save_incident(IncidentState(
            case_key=key, case_url=f"{settings_env['JIRA_URL']}/browse/{key}",
            title="Backup flow test", severity="SEV-3", channel_id=channel_id,
            channel_name=name, created_by=crew["ann"], created_at=datetime.now(UTC)))
        return {"key": key, "channel_id": channel_id, "name": name}

    return make
