"""Durable runs end to end: pending archives hold no process and no run slot, and a killed
`irbot serve` leaves no child behind and loses none of them.

This module restarts the session's `irbot serve` with other settings, and puts it back after.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from sandbox.driver import SlackDriver, wait_for
from tasks.messages import ARCHIVE_CANCEL_ACTION, ARCHIVE_NOW_ACTION
from tests.conftest import ServeProcess
from tests.e2e.conftest import open_incident
from tests.e2e.support_runs import (
    message_at,
    open_incidents,
    run_id_of,
    run_state,
    runner_process,
    start_archive,
    unique_title,
    wait_final,
    wait_state,
)
from tests.support import read_transcript

# Long enough that no deadline passes during the restart, short enough to wait for one.
DELAY_SECONDS = "75"
RUN_LIMIT = "2"


def flow_processes(serve: ServeProcess) -> list[psutil.Process]:
    """Flow-run processes: everything the runner (`python -m flows.runner`) has started."""
    return list(runner_process(serve).children(recursive=True))


def port_is_free(port: int) -> bool:
    """Free for a new server (which, like uvicorn, may reuse a port in TIME_WAIT)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def slow_serve(serve_process: ServeProcess) -> Iterator[ServeProcess]:
    """The session's serve, restarted with a longer archive delay and a run limit of 2, and
    put back afterwards for the modules that run after this one on the same worker."""
    serve_process.stop()
    serve_process.start(IRBOT_ARCHIVE_DELAY_SECONDS=DELAY_SECONDS, IRBOT_RUN_LIMIT=RUN_LIMIT)
    yield serve_process
    serve_process.stop()
    serve_process.start()


def test_pending_archives_hold_nothing_and_survive_a_kill(
        slow_serve: ServeProcess, driver: SlackDriver, sandbox: Any,
        people: dict[str, str], security: str) -> None:
    alice, bob = people["alice"], people["bob"]
    labels = ("cancel", "now", "deadline")
    incs = dict(zip(labels, open_incidents(driver, sandbox, alice, security, [
        {"people": [bob], "title": unique_title(f"Restart {label}"), "severity": "SEV-2",
         "new_case": True} for label in labels]), strict=True))
    announced = {label: start_archive(driver, sandbox, alice, inc) for label, inc in incs.items()}
    runs = {label: run_id_of(msg) for label, msg in announced.items()}
    for run_id in runs.values():
        wait_state(run_id, {"PAUSED"}, timeout=60)

    # Three pending archives, a limit of two runs: none of them holds a process or a slot.
    wait_for(lambda: not flow_processes(slow_serve), timeout=20,
             what="the suspended archives' processes to exit")
    started = time.monotonic()
    fourth = open_incident(driver, sandbox, alice, security, {
        "people": [bob], "title": unique_title("Restart fourth"), "severity": "SEV-3",
        "new_case": True})
    message = f"paged while archives wait {uuid.uuid4().hex[:6]}"
    reply = driver.command(f"page engineering {message}", alice, fourth["channel_id"],
                           fourth["name"])
    assert reply.status == 200
    wait_for(lambda: any(message in str(e) for e in sandbox.pagerduty_events), timeout=30,
             what="the page to reach PagerDuty")
    assert time.monotonic() - started < 60, "create and page waited behind pending archives"

    # SIGKILL `irbot serve` alone: its children die with it and free its port.
    assert slow_serve.proc is not None
    children = psutil.Process(slow_serve.proc.pid).children()
    assert children, "irbot serve runs its runner and webhook as children"
    slow_serve.kill()
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, [p.cmdline() for p in alive]
    assert port_is_free(slow_serve.port)
    for run_id in runs.values():
        assert run_state(run_id) == "PAUSED", "a pending archive did not survive the kill"
    during = sandbox.post_message(incs["deadline"]["channel_id"], bob,
                                  "posted while irbot was down")

    slow_serve.start(IRBOT_ARCHIVE_DELAY_SECONDS=DELAY_SECONDS, IRBOT_RUN_LIMIT=RUN_LIMIT)

    # Cancel after the restart cancels.
    inc, msg = incs["cancel"], announced["cancel"]
    assert driver.click(inc["channel_id"], msg, ARCHIVE_CANCEL_ACTION, bob).status == 200
    wait_for(lambda: "cancelled by" in message_at(sandbox, inc["channel_id"], msg["ts"])["text"],
             timeout=45, what="the announcement to say cancelled")
    assert wait_final(runs["cancel"]) == "COMPLETED"
    assert not sandbox.channel(inc["channel_id"])["is_archived"]

    # Archive now after the restart archives.
    inc, msg = incs["now"], announced["now"]
    assert driver.click(inc["channel_id"], msg, ARCHIVE_NOW_ACTION, alice).status == 200
    wait_for(lambda: sandbox.channel(inc["channel_id"])["is_archived"], timeout=60,
             what="Archive now to archive the channel")
    assert wait_final(runs["now"]) == "COMPLETED"

    # The untouched one is archived at its deadline, with what was posted during the wait.
    inc = incs["deadline"]
    wait_for(lambda: sandbox.channel(inc["channel_id"])["is_archived"],
             timeout=int(DELAY_SECONDS) + 60, what="the archive at the deadline")
    assert wait_final(runs["deadline"]) == "COMPLETED"
    assert during in set(read_transcript(sandbox, inc["key"])["ts"])

    # Each channel got one announcement: no re-run posted a second one.
    for label, inc in incs.items():
        posted = [m for m in sandbox.messages(inc["channel_id"])
                  if "asked to archive" in (m.get("text") or "")
                  or m["ts"] == announced[label]["ts"]]
        assert len(posted) == 1, (label, [m.get("text") for m in posted])
