"""Durable runs on the worker path: `prefect deploy` from prefect.yaml, a process worker, and
the webhook alone; archives pending while the worker is killed and started again lose nothing.

The `irbot serve` version of this story is test_restart.py.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import psutil
import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Cancelling

from sandbox.driver import SlackDriver, wait_for
from tasks.messages import ARCHIVE_CANCEL_ACTION, ARCHIVE_NOW_ACTION
from tests.conftest import SIGNING_SECRET
from tests.e2e.support_runs import (
    csv_of,
    message_at,
    open_incidents,
    run_id_of,
    run_state,
    start_archive,
    unique_title,
    wait_final,
    wait_state,
    wait_text,
)
from tests.e2e.support_worker import WorkerStack

# Long enough that no deadline passes during the restart, short enough to wait for one.
DELAY_SECONDS = 75
# Fewer slots than pending archives: a suspended archive must hold none.
POOL_LIMIT = 2


@pytest.fixture
def worker_stack(irbot_env: dict[str, str]) -> Iterator[WorkerStack]:
    """The worker path, started and stopped around the test; the test's Prefect calls go to
    its server (the helpers' client reads PREFECT_API_URL from the settings context)."""
    workdir = Path(tempfile.mkdtemp(prefix="irbot-worker-"))
    stack = WorkerStack(workdir, {**irbot_env, "IRBOT_ARCHIVE_DELAY_SECONDS": str(DELAY_SECONDS)},
                        POOL_LIMIT)
    stack.start()
    try:
        with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
            yield stack
    finally:
        stack.stop()
        print(f"\nworker path logs: {workdir}")


@pytest.fixture
def worker_driver(worker_stack: WorkerStack, sandbox: Any) -> Iterator[SlackDriver]:
    """Signed requests as Slack sends them, to the worker path's webhook."""
    driver = SlackDriver(worker_stack.webhook_url, SIGNING_SECRET, sandbox)
    yield driver
    driver.close()


def worker_flow_processes(stack: WorkerStack) -> list[psutil.Process]:
    assert stack.worker is not None
    return list(psutil.Process(stack.worker.pid).children(recursive=True))


def announcements(sandbox: Any, channel: str, known_ts: set[str]) -> list[str]:
    """The ts of every archive announcement in the channel (pending or settled)."""
    return [m["ts"] for m in sandbox.messages(channel)
            if "asked to archive" in (m.get("text") or "") or m["ts"] in known_ts]


def test_pending_archives_survive_a_worker_restart(
        worker_stack: WorkerStack, worker_driver: SlackDriver, sandbox: Any,
        people: dict[str, str], security: str) -> None:
    driver = worker_driver
    alice, bob = people["alice"], people["bob"]
    labels = ("cancel", "now", "deadline")
    incs = dict(zip(labels, open_incidents(driver, sandbox, alice, security, [
        {"people": [bob], "title": unique_title(f"Worker {label}"), "severity": "SEV-2",
         "new_case": True} for label in labels], timeout=180), strict=True))
    announced = {label: start_archive(driver, sandbox, alice, inc) for label, inc in incs.items()}
    runs = {label: run_id_of(msg) for label, msg in announced.items()}
    for run_id in runs.values():
        wait_state(run_id, {"PAUSED"}, timeout=90)
    # Suspended, not paused: no process waits (and, with 3 archives and 2 slots, no slot).
    wait_for(lambda: not worker_flow_processes(worker_stack), timeout=30,
             what="the suspended archives' processes to exit")

    worker_stack.kill_worker()
    for run_id in runs.values():
        assert run_state(run_id) == "PAUSED", "a pending archive did not survive the kill"
    during = sandbox.post_message(incs["deadline"]["channel_id"], bob,
                                  "posted while the worker was down")
    worker_stack.start_worker()

    # Cancel after the restart cancels.
    inc, msg = incs["cancel"], announced["cancel"]
    assert driver.click(inc["channel_id"], msg, ARCHIVE_CANCEL_ACTION, bob).status == 200
    wait_for(lambda: "cancelled by" in message_at(sandbox, inc["channel_id"], msg["ts"])["text"],
             timeout=60, what="the announcement to say cancelled")
    assert wait_final(runs["cancel"], timeout=60) == "COMPLETED"
    assert not sandbox.channel(inc["channel_id"])["is_archived"]

    # Archive now after the restart archives.
    inc, msg = incs["now"], announced["now"]
    assert driver.click(inc["channel_id"], msg, ARCHIVE_NOW_ACTION, alice).status == 200
    wait_for(lambda: sandbox.channel(inc["channel_id"])["is_archived"], timeout=90,
             what="Archive now to archive the channel")
    assert wait_final(runs["now"], timeout=60) == "COMPLETED"

    # Each channel got one announcement so far: no re-run posted a second one.
    for label, inc in incs.items():
        posted = announcements(sandbox, inc["channel_id"], {announced[label]["ts"]})
        assert posted == [announced[label]["ts"]], (label, posted)

    # Cancelled in Prefect, as the UI does: prefect.yaml's trigger announces it in the channel.
    inc = incs["cancel"]  # open again after its cancel
    again = start_archive(driver, sandbox, alice, inc, previous_ts=announced["cancel"]["ts"])
    again_run = run_id_of(again)
    wait_state(again_run, {"PAUSED"}, timeout=90)
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(again_run), Cancelling(), force=True)
    said = wait_text(sandbox, inc["channel_id"], "cancelled from Prefect", timeout=90)
    assert said["ts"] == again["ts"]
    assert not sandbox.channel(inc["channel_id"])["is_archived"]

    # The untouched one is archived at its deadline, with what was posted during the downtime.
    inc = incs["deadline"]
    wait_for(lambda: sandbox.channel(inc["channel_id"])["is_archived"],
             timeout=DELAY_SECONDS + 90, what="the archive at the deadline")
    assert wait_final(runs["deadline"], timeout=60) == "COMPLETED"
    assert during in set(csv_of(sandbox, inc["key"])["ts"])
    posted = announcements(sandbox, inc["channel_id"], {announced["deadline"]["ts"]})
    assert posted == [announced["deadline"]["ts"]], posted
