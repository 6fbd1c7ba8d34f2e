"""Shared fixtures: one Prefect server, one sandbox and one `irbot serve` per test session.

Prefect reads its settings when it is imported, so the API URL and home are fixed here, at
import time, before any test module imports prefect.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.stack import ServeProcess
from tasks.settings import Settings, get_settings
from webhook.local_prefect import api_url, free_port, prefect_env, start_prefect_server

_HOME = Path(tempfile.mkdtemp(prefix="irbot-tests-"))
_PREFECT_PORT = free_port()
os.environ.update(prefect_env({}, **{
    "PREFECT_HOME": str(_HOME / "prefect"),
    "PREFECT_API_URL": api_url(_PREFECT_PORT),
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
}))

SIGNING_SECRET = "test-signing-secret-0123456789"
ARCHIVE_DELAY_SECONDS = 20  # long enough that a loaded machine suspends the run before it
# `/irbot severity` sets the Jira priority for these (tests/e2e/test_roles.py).
JIRA_PRIORITIES = '{"SEV-1": "Highest", "SEV-2": "High"}'
# Update reminders at SEV-4 only, which no other test uses: every 18 s (test_reminders_private
# waits for them; long enough that a loaded machine's snooze lands within one period).
REMINDER_SEVERITY, REMINDER_MINUTES = "SEV-4", 0.3
IRBOT_VARS = tuple(Settings.model_fields)  # every variable irbot reads


# `make test` runs the modules on several pytest-xdist workers, a whole module per worker
# (`--dist loadfile`), handed out in collection order. The end-to-end modules are mostly waits
# (archive deadlines, lock leases, heartbeats), so the longest start first and wait side by side.
LONGEST_FIRST = ("test_archive_wait.py", "test_topology.py", "test_worker_restart.py",
                 "test_restart.py", "test_crash_heal.py", "test_prefect_ui.py", "test_contain.py",
                 "test_reminders_private.py", "test_roles.py", "test_socket_mode.py",
                 "test_check.py", "test_page_status_help.py", "test_malformed_fuzz.py")


def _cost_rank(item: pytest.Item) -> int:
    name = item.path.name
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_cost_rank)  # stable: the order within a module and among the rest is kept
    # End-to-end tests drive many processes against timers on a 2-core machine: one that fails
    # is run once more (shown as R in the report, never hidden); a second failure fails.
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))


@pytest.fixture(autouse=True)
def _no_leaked_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A developer's shell or `.env` must never leak into a test: irbot's variables are
    cleared, `.env` is not read, and Settings are rebuilt per test (fixtures set what a test
    needs)."""
    for name in IRBOT_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """A real Prefect API server (SQLite) on loopback for the whole session."""
    server = start_prefect_server(_HOME / "prefect", os.environ, _PREFECT_PORT,
                                  log=_HOME / "prefect-server.log")
    try:
        from tasks.state import register_block_type

        register_block_type()
        yield server.api_url
    finally:
        server.stop(20)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[object]:
    """The Slack/Jira/PagerDuty emulator, serving on a free loopback port."""
    from sandbox import Sandbox

    with Sandbox(jira_projects=("SEC",)) as sb:
        yield sb


@pytest.fixture(scope="session")
def irbot_env(sandbox: object) -> dict[str, str]:
    """Settings pointing irbot at the sandbox."""
    from sandbox.stack import irbot_settings

    return {**irbot_settings(sandbox, ARCHIVE_DELAY_SECONDS,  # type: ignore[arg-type]
                             SIGNING_SECRET),
            "IRBOT_UPDATE_REMINDER_MINUTES": json.dumps({REMINDER_SEVERITY: REMINDER_MINUTES})}


@pytest.fixture
def settings_env(irbot_env: dict[str, str], prefect_api: str,
                 monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Run flows and tasks in this process against the sandbox and the Prefect server."""
    for name, value in irbot_env.items():
        monkeypatch.setenv(name, value)
    return irbot_env


@pytest.fixture(scope="session")
def serve_process(irbot_env: dict[str, str], prefect_api: str) -> Iterator[ServeProcess]:
    """The session's one `irbot serve`."""
    serve = ServeProcess({**os.environ, **irbot_env, "IRBOT_RUN_LIMIT": "30",
                          "IRBOT_JIRA_PRIORITIES": JIRA_PRIORITIES,
                          "PREFECT_LOGGING_LEVEL": "INFO"}, _HOME / "irbot-serve.log", timeout=90)
    try:
        serve.start()
        yield serve
    finally:
        serve.stop()
        print(f"\nirbot serve log: {serve.log_path}")


@pytest.fixture(scope="session")
def irbot_serve(serve_process: ServeProcess) -> str:
    """The base URL of the session's `irbot serve`."""
    return serve_process.base
