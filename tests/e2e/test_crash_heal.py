"""Crash healing end to end: a flow-run process SIGKILLed at one outside call, then healed.

A representative handful of the matrix in `bench/crash_matrix.py`, through the session's
`irbot serve`. The sandbox kills the flow-run process at a chosen call, either before the call
takes effect or after (stored, answer lost); the heal automation re-runs the crashed run, and
the re-run skips what the dead attempt had done. Assertions are on what Slack and Jira hold.

The cases run at once on separate incidents: each backup case is killed holding the incident
lock, so its re-run waits out the lock's lease (60-75 s); the waits overlap.
Crash faults count only the runner's processes (`from_pid`), never the webhook's calls.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, StateType

from sandbox.driver import SlackDriver, form_values, wait_for
from tasks.deployments import BACKUP, CREATE
from tasks.messages import ARCHIVE_CANCEL_ACTION
from tasks.state import load_incident
from tests.conftest import ServeProcess
from tests.e2e.support_runs import (
    SETTLED,
    flow_runs,
    message_at,
    open_incidents,
    read_run,
    run_backup,
    run_id_of,
    run_state,
    runner_process,
    unique_title,
    wait_announcement,
    wait_state,
)
from tests.support import read_transcript

# Heal (a few s) + the dead holder's lock lease (60-75 s) + the re-run, on a loaded machine.
HEAL_TIMEOUT = 240
ARCHIVE_DELAY_SECONDS = "600"
BACKUP_CASES = ("after-upload", "before-comment")


def crash_at(sandbox: Any, name: str, since: float, timeout: float = 60) -> Any:
    """The crash fault that went off at the request `name` after `since`; it must have killed."""
    record = wait_for(lambda: next((c for c in sandbox.crashes()
                                    if c.name == name and c.at >= since), None),
                      timeout=timeout, what=f"the crash at {name}")
    assert record.killed, record
    return record


def conversation(sandbox: Any, channel: str) -> list[str]:
    """The ts of every message people posted: what the transcript must hold, once each."""
    return [m["ts"] for m in sandbox.messages(channel)
            if not m.get("metadata") and m.get("user") != sandbox.bot_user_id]


def crashed_then_completed(run: FlowRun) -> None:
    """The run was killed, re-run by the heal automation, and ended well."""
    with get_client(sync_client=True) as client:
        history = [s.type for s in client.read_flow_run_states(UUID(str(run.id)))]
    assert StateType.CRASHED in history, history
    assert run.run_count > 1, run.run_count
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state


def newest_run(deployment: str, since: float, **params: Any) -> FlowRun:
    """The run of `deployment` with these parameters created after `since` (a time.time())."""
    return wait_for(lambda: next((r for r in flow_runs(deployment, **params)
                                  if r.created and r.created.timestamp() >= since - 1), None),
                    timeout=30, what=f"a {deployment} run")


def wait_runner_idle(serve: ServeProcess) -> None:
    """No flow-run process alive: a fault counting every runner call counts only ours."""
    wait_for(lambda: not runner_process(serve).children(recursive=True), timeout=60,
             interval=0.2, what="the runner to have no flow runs")


@pytest.fixture(scope="module")
def crash_serve(serve_process: ServeProcess) -> Iterator[ServeProcess]:
    """The session's serve with an archive delay no heal can outlast (the session's 12 s
    would archive at the deadline while the crashed archive heals)."""
    serve_process.stop()
    serve_process.start(IRBOT_ARCHIVE_DELAY_SECONDS=ARCHIVE_DELAY_SECONDS)
    try:
        yield serve_process
    finally:
        serve_process.stop()
        serve_process.start()  # as the rest of the session expects it


@pytest.fixture(scope="module")
def incidents(crash_serve: ServeProcess, driver: SlackDriver, sandbox: Any,
              people: dict[str, str], security: str) -> dict[str, dict[str, Any]]:
    labels = (*BACKUP_CASES, "archive")
    opened = open_incidents(driver, sandbox, people["alice"], security, [
        {"people": [people["bob"]], "title": unique_title(f"Crash {label}"),
         "severity": "SEV-2", "new_case": True} for label in labels])
    return dict(zip(labels, opened, strict=True))


@pytest.fixture(scope="module")
def kicked_off(driver: SlackDriver, sandbox: Any, people: dict[str, str], security: str,
               crash_serve: ServeProcess,
               incidents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every case is started here, one after the other, and heals while the tests look."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    runner = runner_process(crash_serve).pid
    started: dict[str, Any] = {}

    # Backups: a clean first backup, so the crashed one has an old copy to replace.
    with ThreadPoolExecutor() as pool:
        for label in BACKUP_CASES:
            for i in range(4):
                sandbox.post_message(incidents[label]["channel_id"], (alice, bob)[i % 2],
                                     f"{label} before {i}")
        outcomes = pool.map(lambda inc: run_backup(driver, sandbox, alice, inc),
                            [incidents[label] for label in BACKUP_CASES])
        assert all(o.startswith("Backup saved") for o in outcomes)

    # Archive: killed once its announcement is posted, before it knows the ts. Nothing else
    # runs now, so the runner's first chat.postMessage is the announcement.
    inc = incidents["archive"]
    sandbox.post_message(inc["channel_id"], bob, "archive case message")
    wait_runner_idle(crash_serve)
    since = time.time()
    sandbox.inject_crash("slack", "chat.postMessage", at_call=1, when="after", from_pid=runner)
    assert driver.command("archive", alice, inc["channel_id"], inc["name"]).status == 200
    crash_at(sandbox, "chat.postMessage", since)
    # Someone clicks Cancel as soon as the buttons appear: while the run is being healed.
    announcement = wait_announcement(sandbox, inc["channel_id"])
    click = driver.click(inc["channel_id"], announcement, ARCHIVE_CANCEL_ACTION, bob)
    started["archive"] = {"announcement": announcement, "click": click,
                          "state_at_click": run_state(run_id_of(announcement))}

    # Backups again, each killed at a Jira call of its own case (its key is in the path).
    targets = {"after-upload": ("attachments", "after"), "before-comment": ("comment", "before")}
    for label, (endpoint, when) in targets.items():
        inc = incidents[label]
        for i in range(3):
            sandbox.post_message(inc["channel_id"], (bob, carol)[i % 2], f"{label} after {i}")
        path = f"/rest/api/2/issue/{inc['key']}/{endpoint}"
        sandbox.inject_crash("jira", f"POST {path}$", at_call=1, when=when, from_pid=runner)
        since = time.time()
        assert driver.command("backup", bob, inc["channel_id"], inc["name"]).status == 200
        started[label] = {"since": since, "crash": f"POST {path}"}

    # Create: killed once Jira made the case, before irbot learns its key. No other create
    # runs now, so the runner's first POST /issue is this one.
    title = unique_title("Crash create")
    sandbox.inject_crash("jira", "POST /rest/api/2/issue$", at_call=1, when="after",
                         from_pid=runner)
    reply = driver.command("create", alice, security, "security")
    view = driver.opened_view(reply.trigger_id)
    since = time.time()
    answer = driver.submit(view, form_values(view, {
        "people": [bob], "title": title, "severity": "SEV-3", "new_case": True}), alice)
    assert answer.status == 200
    started["create"] = {"since": since, "title": title}
    return started


def assert_backup_healed(sandbox: Any, inc: dict[str, Any], case: dict[str, Any],
                         bob: str) -> None:
    crash_at(sandbox, case["crash"], case["since"])
    run = newest_run(BACKUP, case["since"], channel_id=inc["channel_id"])
    wait_state(str(run.id), SETTLED, timeout=HEAL_TIMEOUT)
    crashed_then_completed(read_run(str(run.id)))
    ts = read_transcript(sandbox, inc["key"])["ts"].tolist()  # exactly one CSV on the case
    expected = conversation(sandbox, inc["channel_id"])  # 7 messages, and the joins
    assert sorted(ts) == sorted(expected) and len(ts) == len(set(ts))
    comments = [c for c in sandbox.jira_issue(inc["key"])["comments"] if "SHA-256" in c]
    assert len(comments) == 2, comments  # the first backup's and this one's, once
    assert comments[-1].startswith("irbot backup (requested by ") and bob in comments[-1]
    assert f"3 new messages, {len(expected)} in total" in comments[-1]
    saved = [m["text"] for m in sandbox.messages(inc["channel_id"])
             if (m.get("text") or "").startswith("Backup saved")]
    assert len(saved) == 2, saved
    assert load_incident(inc["channel_id"]).message_count == len(expected)


def test_backup_killed_after_jira_stored_its_csv_keeps_one_copy(
        sandbox: Any, people: dict[str, str], incidents: dict[str, Any],
        kicked_off: dict[str, Any]) -> None:
    """The upload took effect, its answer was lost: the re-run finds the new copy complete,
    deletes the old one and records the backup once."""
    assert_backup_healed(sandbox, incidents["after-upload"], kicked_off["after-upload"],
                         people["bob"])


def test_backup_killed_before_its_comment_records_it_once(
        sandbox: Any, people: dict[str, str], incidents: dict[str, Any],
        kicked_off: dict[str, Any]) -> None:
    """Killed before the last call ahead of the cursor: CSV stored, old copy gone, nothing
    recorded, cursor unmoved; the re-run records the backup and moves the cursor."""
    assert_backup_healed(sandbox, incidents["before-comment"], kicked_off["before-comment"],
                         people["bob"])


def test_create_killed_after_jira_made_the_case_opens_one_incident(
        sandbox: Any, people: dict[str, str], kicked_off: dict[str, Any]) -> None:
    case = kicked_off["create"]
    crash_at(sandbox, "POST /rest/api/2/issue", case["since"])
    run = newest_run(CREATE, case["since"], title=case["title"])
    wait_state(str(run.id), SETTLED, timeout=HEAL_TIMEOUT)
    crashed_then_completed(read_run(str(run.id)))
    [issue] = [i for i in sandbox.jira_issues() if i["summary"] == case["title"]]
    name = f"incident_channel_{issue['key'].lower()}"
    channel = sandbox.channel_by_name(name)
    assert channel is not None and issue["key"] in channel["topic"]
    state = load_incident(channel["id"])
    assert (state.case_key, state.channel_name) == (issue["key"], name)
    told = [e for e in sandbox.ephemerals if e["user"] == people["alice"]
            and f"{issue['key']} is ready" in e["text"]]
    assert len(told) == 1, told
    welcomes = [m for m in sandbox.messages(channel["id"])
                if (m.get("text") or "").startswith("Incident channel for")]
    assert len(welcomes) == 1
    recorded = [c for c in sandbox.jira_issue(issue["key"])["comments"]
                if "Slack incident channels" in c]
    assert len(recorded) == 1, recorded


def test_archive_killed_after_its_announcement_announces_once_and_still_cancels(
        driver: SlackDriver, sandbox: Any, incidents: dict[str, Any],
        kicked_off: dict[str, Any]) -> None:
    """The post took effect, its ts never reached the state: the re-run finds its post again,
    and a Cancel clicked during the heal waits for the healed run and cancels it."""
    inc, case = incidents["archive"], kicked_off["archive"]
    announcement, click = case["announcement"], case["click"]
    assert case["state_at_click"] != "PAUSED", "the click came after the heal, not during it"
    assert click.status == 200
    run_id = run_id_of(announcement)
    wait_for(lambda: "cancelled by" in message_at(sandbox, inc["channel_id"],
                                                  announcement["ts"])["text"],
             timeout=HEAL_TIMEOUT, what="the announcement to say cancelled")
    assert driver.answers(click.response_url) == []  # not "already decided"
    wait_state(run_id, SETTLED, timeout=60)
    crashed_then_completed(read_run(run_id))
    posted = [m["ts"] for m in sandbox.messages(inc["channel_id"])
              if "asked to archive" in (m.get("text") or "")
              or m["ts"] == announcement["ts"]]
    assert posted == [announcement["ts"]]
    assert not sandbox.channel(inc["channel_id"])["is_archived"]
    assert load_incident(inc["channel_id"]).archive_flow_run_id is None
