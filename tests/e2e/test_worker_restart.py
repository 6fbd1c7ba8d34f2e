"""Durable runs on the worker path: `prefect deploy` from prefect.yaml, a process worker, and
the webhook alone. A worker restart loses nothing: neither the archives pending through it nor
a run in flight when it stopped (its process ends with the worker, the run goes quiet, the
zombie automation marks it Crashed and the heal automation re-runs it).

The `irbot serve` version of this story is test_restart.py.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import psutil
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Cancelling

from sandbox.driver import SlackDriver, wait_for
from tasks.deployments import PAGE
from tasks.messages import ARCHIVE_CANCEL_ACTION, ARCHIVE_NOW_ACTION
from tasks.runs import past_state_types
from tests.conftest import SIGNING_SECRET
from tests.e2e.support_runs import (
    SETTLED,
    flow_runs,
    message_at,
    open_incidents,
    run_id_of,
    run_state,
    start_archive,
    unique_title,
    wait_announcement,
    wait_final,
    wait_state,
    wait_text,
)
from tests.e2e.support_worker import WorkerStack
from tests.support import read_transcript

# Long enough that no deadline passes before the clicks after the restart, even on a loaded
# machine (a flow-run process can take 30 s to start); short enough to wait for one.
DELAY_SECONDS = 120
# Three pending archives and a page: four runs, and room for them only if waiting takes no slot.
POOL_LIMIT = 3
# Prefect's minimum: a run gone quiet is marked Crashed 90 s after its last beat.
HEARTBEAT_SECONDS = 30
# Holds the page in flight (tasks/retry.py waits out Retry-After) across the worker's stop.
PAGERDUTY_RETRY_AFTER = 60


@pytest.fixture
def worker_stack(irbot_env: dict[str, str], sandbox: Any) -> Iterator[WorkerStack]:
    """The worker path, started and stopped around the test; the test's Prefect calls go to
    its server (the helpers' client reads PREFECT_API_URL from the settings context)."""
    workdir = Path(tempfile.mkdtemp(prefix="irbot-worker-"))
    stack = WorkerStack(workdir, {**irbot_env, "IRBOT_ARCHIVE_DELAY_SECONDS": str(DELAY_SECONDS),
                                  "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS)},
                        POOL_LIMIT)
    stack.start()
    try:
        with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
            yield stack
    finally:
        stack.stop()
        sandbox.clear_faults()
        print(f"\nworker path logs: {workdir}")


@pytest.fixture
def worker_driver(worker_stack: WorkerStack, sandbox: Any) -> Iterator[SlackDriver]:
    """Signed requests as Slack sends them, to the worker path's webhook."""
    driver = SlackDriver(worker_stack.webhook_url, SIGNING_SECRET, sandbox)
    yield driver
    driver.close()


def running_flow_runs(stack: WorkerStack) -> set[str]:
    """The runs the worker's flow-run processes are running (their PREFECT__FLOW_RUN_ID)."""
    assert stack.worker is not None
    ids = set()
    for child in psutil.Process(stack.worker.pid).children(recursive=True):
        try:
            ids.add(child.environ().get("PREFECT__FLOW_RUN_ID", f"pid {child.pid}"))
        except psutil.NoSuchProcess:
            pass  # ended meanwhile
    return ids


def crashed_runs() -> set[str]:
    """Every run on the server that was ever Crashed (healed ones are Scheduled again)."""
    with get_client(sync_client=True) as client:
        return {str(run.id) for run in client.read_flow_runs(limit=200)
                if StateType.CRASHED in {s.type for s in client.read_flow_run_states(run.id)}}


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
    for inc in incs.values():  # all at once: the first deadline runs from the first announcement
        assert driver.command("archive", alice, inc["channel_id"], inc["name"]).status == 200
    announced = {label: wait_announcement(sandbox, inc["channel_id"], timeout=120)
                 for label, inc in incs.items()}
    runs = {label: run_id_of(msg) for label, msg in announced.items()}
    for run_id in runs.values():
        wait_state(run_id, {"PAUSED"}, timeout=90)

    # A page in flight when the worker stops: PagerDuty's 429 holds it in its retry wait. It
    # runs beside three pending archives in a pool of three slots: they hold none, nor a process.
    page = f"paged across a worker restart {uuid.uuid4().hex[:6]}"
    sandbox.inject_fault("pagerduty", "POST /v2/enqueue", 429, times=1,
                         retry_after=PAGERDUTY_RETRY_AFTER)
    inc = incs["cancel"]
    assert driver.command(f"page engineering {page}", alice, inc["channel_id"],
                          inc["name"]).status == 200
    wait_for(lambda: any(r.status == 429 and page in str(r.params)
                         for r in sandbox.requests("pagerduty")), timeout=90,
             what="the page to reach PagerDuty and be told to wait")
    [page_run] = [str(r.id) for r in flow_runs(PAGE, channel_id=inc["channel_id"])]
    wait_for(lambda: running_flow_runs(worker_stack) == {page_run}, timeout=20,
             what="the page to be the worker's only flow-run process")

    worker_stack.stop_worker()
    for run_id in runs.values():
        assert run_state(run_id) == "PAUSED", "a pending archive did not survive the stop"
    during = sandbox.post_message(incs["deadline"]["channel_id"], bob,
                                  "posted while the worker was down")
    worker_stack.start_worker()

    # Cancel and Archive now, clicked after the restart, cancel and archive.
    cancel, cancel_msg = incs["cancel"], announced["cancel"]
    now, now_msg = incs["now"], announced["now"]
    assert driver.click(cancel["channel_id"], cancel_msg, ARCHIVE_CANCEL_ACTION,
                        bob).status == 200
    assert driver.click(now["channel_id"], now_msg, ARCHIVE_NOW_ACTION, alice).status == 200
    wait_for(lambda: "cancelled by" in message_at(sandbox, cancel["channel_id"],
                                                  cancel_msg["ts"])["text"],
             timeout=90, what="the announcement to say cancelled")
    assert wait_final(runs["cancel"], timeout=60) == "COMPLETED"
    assert not sandbox.channel(cancel["channel_id"])["is_archived"]
    wait_for(lambda: sandbox.channel(now["channel_id"])["is_archived"], timeout=90,
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

    # The page in flight is paged and told once, by a re-run after the stop (Crashed on the
    # way, for a moment: the heal automation moves it on).
    assert wait_state(page_run, SETTLED, timeout=HEARTBEAT_SECONDS * 3 + 120) == "COMPLETED"
    assert StateType.CRASHED in past_state_types(page_run)
    accepted = [e for e in sandbox.pagerduty_events if page in str(e)]
    assert len(accepted) == 1, accepted
    notes = [m for m in sandbox.messages(incs["cancel"]["channel_id"])
             if page in (m.get("text") or "")]
    assert len(notes) == 1, notes

    # The untouched one is archived at its deadline, with what was posted during the downtime.
    inc = incs["deadline"]
    wait_for(lambda: sandbox.channel(inc["channel_id"])["is_archived"],
             timeout=DELAY_SECONDS + 90, what="the archive at the deadline")
    assert wait_final(runs["deadline"], timeout=60) == "COMPLETED"
    assert during in set(read_transcript(sandbox, inc["key"])["ts"])
    posted = announcements(sandbox, inc["channel_id"], {announced["deadline"]["ts"]})
    assert posted == [announced["deadline"]["ts"]], posted
    # Only the page's process vanished: no waiting archive was taken for a zombie.
    assert crashed_runs() == {page_run}
