"""The archive wait end to end: the announcement, every way out of the pause, and what is left.

The incidents are opened at once (module fixture), and the two slow waits (the deadline, a
Prefect cancellation) are started before the first test, to keep the module short.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.flow_runs import resume_flow_run
from prefect.states import Cancelling

from sandbox.driver import SlackDriver, wait_for
from tasks.deployments import ARCHIVE
from tasks.errors import NotAnIncident
from tasks.messages import ARCHIVE_CANCEL_ACTION, ARCHIVE_NOW_ACTION
from tasks.state import load_incident, lock_name
from tests.conftest import ARCHIVE_DELAY_SECONDS
from tests.e2e.support_runs import (
    buttons,
    command_answer,
    flow_runs,
    has_buttons,
    message_at,
    open_incidents,
    read_run,
    run_id_of,
    run_state,
    slack_epoch,
    start_archive,
    unique_title,
    wait_announcement,
    wait_final,
    wait_state,
    wait_text,
)
from tests.support import read_transcript

# The slow waits (deadline, Prefect cancellation) start before the first test: see kicked_off.
pytestmark = pytest.mark.usefixtures("kicked_off")

# Incidents are costly (every flow run is a process): a test whose archive ends cancelled leaves
# its incident open and clean, and a later test reuses it (early-click after slack-cancel,
# two-clicks after prefect-cancel). The operator's archive opens its own incident in the test:
# a first try that fails on a loaded machine may leave its channel archived (the deadline came
# first), and the rerun then needs an incident of its own.
PLAIN = ("slack-cancel", "ui-resume", "prefect-cancel", "backup-fails", "archive-refused")


@pytest.fixture(scope="module")
def incidents(driver: SlackDriver, sandbox: Any, people: dict[str, str],
              security: str) -> dict[str, dict[str, Any]]:
    """One incident per test, opened in parallel; "exec" also has an executive channel."""
    fills: list[dict[str, Any]] = [
        {"people": [people["bob"]], "title": unique_title(f"Archive {label}"),
         "severity": "SEV-2", "new_case": True} for label in PLAIN]
    fills.append({"people": [people["bob"]], "title": unique_title("Archive exec"),
                  "severity": "SEV-1", "new_case": True, "exec_channel": True,
                  "exec_people": [people["carol"]]})
    opened = open_incidents(driver, sandbox, people["alice"], security, fills)
    return dict(zip((*PLAIN, "exec"), opened, strict=True))


@pytest.fixture(scope="module")
def kicked_off(driver: SlackDriver, sandbox: Any, people: dict[str, str],
               incidents: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The two slow waits start first and run while the other tests do.

    "exec": `/irbot archive`, then a message during the wait; the deadline does the rest.
    "prefect-cancel": `/irbot archive`, then the run is set Cancelling in Prefect once paused.
    """
    started: dict[str, dict[str, Any]] = {}
    for label in ("exec", "prefect-cancel"):
        inc = incidents[label]
        msg = start_archive(driver, sandbox, people["alice"], inc)
        started[label] = {"announcement": msg, "run_id": run_id_of(msg),
                          "deadline": slack_epoch(msg["text"])}
    started["exec"]["during"] = sandbox.post_message(incidents["exec"]["channel_id"],
                                                     people["bob"], "posted during the wait")
    run_id = started["prefect-cancel"]["run_id"]
    wait_state(run_id, {"PAUSED"}, timeout=20)
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(run_id), Cancelling(), force=True)
    return started


def archive_runs(channel_id: str) -> list[Any]:
    """Archive runs for a channel, without the deadline timers."""
    return [r for r in flow_runs(ARCHIVE, channel_id=channel_id)
            if not r.parameters.get("resume_run_id")]


def snapshot(sandbox: Any, inc: dict[str, Any]) -> tuple[Any, ...]:
    ch = inc["channel_id"]
    return (sandbox.messages(ch), sandbox.channel(ch)["is_archived"],
            len(sandbox.jira_issue(inc["key"])["comments"]), len(archive_runs(ch)))


def assert_late_click_changes_nothing(driver: SlackDriver, sandbox: Any, inc: dict[str, Any],
                                      announcement: dict[str, Any], action: str,
                                      user: str) -> None:
    before = snapshot(sandbox, inc)
    click = driver.click(inc["channel_id"], announcement, action, user)
    assert click.status == 200 and click.body in ("", {}), click
    answer = driver.wait_answer(click.response_url)
    assert "already decided" in answer["text"]
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert answer.get("replace_original") in (None, False)
    time.sleep(1.0)
    assert snapshot(sandbox, inc) == before


def status_text(driver: SlackDriver, user: str, inc: dict[str, Any]) -> str:
    reply = driver.command("status", user, inc["channel_id"], inc["name"])
    assert reply.status == 200
    answer = driver.wait_answer(reply.response_url)
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    return str(answer["text"])


def test_announcement_pending_answer_and_slack_cancel(driver: SlackDriver, sandbox: Any,
                                                      people: dict[str, str],
                                                      incidents: dict[str, Any]) -> None:
    inc = incidents["slack-cancel"]
    ch, alice, bob = inc["channel_id"], people["alice"], people["bob"]
    asked = time.time()
    msg = start_archive(driver, sandbox, alice, inc)

    # Who asked, the deadline, two buttons carrying the run id.
    assert f"<@{alice}> asked to archive" in msg["text"]
    deadline = slack_epoch(msg["text"])
    assert asked + ARCHIVE_DELAY_SECONDS - 1 <= deadline <= time.time() + ARCHIVE_DELAY_SECONDS
    labels = {b["action_id"]: b["text"]["text"] for b in buttons(msg)}
    assert "Cancel" in labels[ARCHIVE_CANCEL_ACTION]
    assert labels[ARCHIVE_NOW_ACTION] == "Archive now"
    run_id = run_id_of(msg)
    wait_state(run_id, {"PAUSED"}, timeout=20)
    run = read_run(run_id)
    assert run.parameters["channel_id"] == ch and run.parameters["requested_by"] == alice

    # While pending: a second /irbot archive names the deadline and starts nothing.
    again = driver.command("archive", bob, ch, inc["name"])
    answer = driver.wait_answer(again.response_url)
    assert "already pending" in answer["text"] and slack_epoch(answer["text"]) == deadline
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    status = status_text(driver, bob, inc)
    assert "Archive pending" in status and slack_epoch(status.split("Archive pending")[1]) \
        == deadline

    # Cancel from Slack: announcement updated in place, buttons gone, channel open.
    click = driver.click(ch, msg, ARCHIVE_CANCEL_ACTION, bob)
    assert click.status == 200
    wait_for(lambda: "cancelled by" in message_at(sandbox, ch, msg["ts"])["text"],
             timeout=60, what="the announcement to say cancelled")
    updated = message_at(sandbox, ch, msg["ts"])
    assert f"<@{bob}>" in updated["text"] and not has_buttons(updated)
    assert wait_final(run_id) == "COMPLETED"
    assert not sandbox.channel(ch)["is_archived"]
    assert driver.answers(click.response_url) == []
    assert len(archive_runs(ch)) == 1
    assert sum(has_buttons(m) or "asked to archive" in (m.get("text") or "")
               for m in sandbox.messages(ch)) == 0  # the only announcement is now settled

    # A second click after Cancel: a clear ephemeral answer, nothing changes.
    assert_late_click_changes_nothing(driver, sandbox, inc, msg, ARCHIVE_NOW_ACTION, alice)
    assert "Archive pending" not in status_text(driver, alice, inc)


def test_resume_from_prefect_ui_cancels(driver: SlackDriver, sandbox: Any,
                                        people: dict[str, str],
                                        incidents: dict[str, Any]) -> None:
    inc = incidents["ui-resume"]
    ch = inc["channel_id"]
    msg = start_archive(driver, sandbox, people["alice"], inc)
    run_id = run_id_of(msg)
    wait_state(run_id, {"PAUSED"}, timeout=20)

    resume_flow_run(UUID(run_id), run_input={"decision": "cancel", "decided_by": "operator"})

    wait_for(lambda: "cancelled by operator" in message_at(sandbox, ch, msg["ts"])["text"],
             timeout=60, what="the announcement to say cancelled by operator")
    assert not has_buttons(message_at(sandbox, ch, msg["ts"]))
    assert wait_final(run_id) == "COMPLETED"
    assert not sandbox.channel(ch)["is_archived"]
    state = load_incident(ch)
    assert state.case_key == inc["key"] and state.archive_flow_run_id is None
    status = status_text(driver, people["bob"], inc)
    assert inc["key"] in status and "Archive pending" not in status


def test_very_early_cancel_click_still_cancels(driver: SlackDriver, sandbox: Any,
                                               people: dict[str, str],
                                               incidents: dict[str, Any]) -> None:
    inc = incidents["slack-cancel"]  # open again after the Slack cancel
    ch, bob = inc["channel_id"], people["bob"]
    msg = start_archive(driver, sandbox, people["alice"], inc, interval=0.01)
    click = driver.click(ch, msg, ARCHIVE_CANCEL_ACTION, bob)  # at once, maybe before the pause
    assert click.status == 200 and click.body in ("", {})
    run_id = run_id_of(msg)
    print(f"run state right after the early click: {run_state(run_id)}")
    wait_for(lambda: "cancelled by" in message_at(sandbox, ch, msg["ts"])["text"],
             timeout=60, what="the early Cancel to take effect")
    assert f"<@{bob}>" in message_at(sandbox, ch, msg["ts"])["text"]
    assert wait_final(run_id) == "COMPLETED"
    assert not sandbox.channel(ch)["is_archived"]
    assert driver.answers(click.response_url) == []  # no "already decided" for a real cancel


def test_cancel_in_prefect_keeps_channel_and_says_so(driver: SlackDriver, sandbox: Any,
                                                     people: dict[str, str],
                                                     incidents: dict[str, Any],
                                                     kicked_off: dict[str, Any]) -> None:
    """The run was set Cancelling while paused (see `kicked_off`), as the Prefect UI does."""
    inc, started = incidents["prefect-cancel"], kicked_off["prefect-cancel"]
    ch, msg, run_id = inc["channel_id"], started["announcement"], started["run_id"]
    said = wait_text(sandbox, ch, "cancelled from Prefect", timeout=60)
    assert "stays open" in said["text"]
    assert not has_buttons(message_at(sandbox, ch, msg["ts"]))
    assert wait_final(run_id) == "CANCELLED"
    assert not sandbox.channel(ch)["is_archived"]
    assert "Archive pending" not in status_text(driver, people["alice"], inc)


def test_simultaneous_clicks_one_wins_the_others_are_told(driver: SlackDriver, sandbox: Any,
                                                          people: dict[str, str],
                                                          incidents: dict[str, Any]) -> None:
    inc = incidents["prefect-cancel"]  # open again after the Prefect cancel
    ch = inc["channel_id"]
    msg = start_archive(driver, sandbox, people["alice"], inc)
    run_id = run_id_of(msg)
    wait_state(run_id, {"PAUSED"}, timeout=20)
    clicks = ((ARCHIVE_CANCEL_ACTION, people["bob"]), (ARCHIVE_NOW_ACTION, people["alice"]),
              (ARCHIVE_CANCEL_ACTION, people["carol"]))
    with ThreadPoolExecutor(len(clicks)) as pool:
        replies = list(pool.map(lambda c: driver.click(ch, msg, *c), clicks))
    assert all(r.status == 200 for r in replies)
    assert wait_final(run_id, timeout=60) == "COMPLETED"
    outcome = message_at(sandbox, ch, msg["ts"])["text"]
    winners = [user for _, user in clicks if f"<@{user}>" in outcome]
    assert len(winners) == 1, outcome
    assert sandbox.channel(ch)["is_archived"] == ("cancelled" not in outcome)
    time.sleep(2)  # the losers' answers come right after the clicks
    answered = [driver.answers(r.response_url) for r in replies]
    assert sorted(len(a) for a in answered) == [0] + [1] * (len(clicks) - 1), answered
    # "already decided"; under SQLite contention possibly "…Nothing was changed" (also true).
    assert all("already decided" in a[0]["text"] or "Nothing was changed" in a[0]["text"]
               for a in answered if a)


def test_archive_started_by_an_operator_names_no_bogus_user(driver: SlackDriver, sandbox: Any,
                                                           people: dict[str, str],
                                                           security: str) -> None:
    [inc] = open_incidents(driver, sandbox, people["alice"], security, [
        {"people": [people["bob"]], "title": unique_title("Archive operator"),
         "severity": "SEV-2", "new_case": True}])
    ch = inc["channel_id"]
    run = run_deployment(ARCHIVE, parameters={"channel_id": ch}, timeout=0)
    msg = wait_announcement(sandbox, ch)
    try:
        assert run_id_of(msg) == str(run.id)
        mentions = re.findall(r"<@([^>|]+)", msg["text"])
        assert all(m[:1] in "UW" and m[1:].isalnum() for m in mentions), msg["text"]
    finally:
        driver.click(ch, msg, ARCHIVE_CANCEL_ACTION, people["bob"])
        wait_final(str(run.id))
    assert not sandbox.channel(ch)["is_archived"]


def test_final_backup_failure_keeps_channel_then_archive_works(
        driver: SlackDriver, sandbox: Any, people: dict[str, str],
        incidents: dict[str, Any], kicked_off: dict[str, Any]) -> None:
    inc = incidents["backup-fails"]
    ch, key, alice = inc["channel_id"], inc["key"], people["alice"]
    sandbox.post_message(ch, people["bob"], "evidence before the archive")
    upload = f"/rest/api/2/issue/{key}/attachments"
    sandbox.inject_fault("jira", f"POST {upload}$", 500, times=100)
    try:
        msg = start_archive(driver, sandbox, alice, inc)
        run_id = run_id_of(msg)
        driver.click(ch, msg, ARCHIVE_NOW_ACTION, alice)
        assert wait_final(run_id, timeout=90) == "FAILED"
    finally:
        sandbox.clear_faults()
    said = message_at(sandbox, ch, msg["ts"])["text"]
    assert "final backup failed" in said and "not* archived" in said
    assert not has_buttons(message_at(sandbox, ch, msg["ts"]))
    assert not sandbox.channel(ch)["is_archived"]
    state = load_incident(ch)  # the state Block is still there
    assert state.case_key == key and not state.closing and state.archive_flow_run_id is None
    assert not any("archived the incident" in c for c in sandbox.jira_issue(key)["comments"])

    # Fault gone: a new archive works; Slack answering already_archived is not an error.
    second = start_archive(driver, sandbox, alice, inc, previous_ts=msg["ts"])
    second_id = run_id_of(second)
    assert second_id != run_id
    wait_final(kicked_off["exec"]["run_id"])  # no other archive may take the injected answer
    sandbox.inject_fault("slack", "conversations.archive", 200, times=1,
                         body={"ok": False, "error": "already_archived"})
    driver.click(ch, second, ARCHIVE_NOW_ACTION, alice)
    assert wait_final(second_id, timeout=90) == "COMPLETED"
    assert "evidence before the archive" in set(read_transcript(sandbox, key)["text"])
    assert any("archived the incident" in c for c in sandbox.jira_issue(key)["comments"])
    with pytest.raises(NotAnIncident):
        load_incident(ch)
    archive_calls = sandbox.requests("slack", "conversations.archive")
    assert archive_calls and archive_calls[-1].params.get("channel") == ch


def test_deadline_archives_exec_channel_and_closes_the_incident(
        driver: SlackDriver, sandbox: Any, people: dict[str, str],
        incidents: dict[str, Any], kicked_off: dict[str, Any]) -> None:
    """`/irbot archive` was typed and a message posted during the wait (see `kicked_off`)."""
    inc, started = incidents["exec"], kicked_off["exec"]
    ch, exec_ch, key, alice = inc["channel_id"], inc["exec_channel_id"], inc["key"], people["alice"]
    msg, run_id, deadline = started["announcement"], started["run_id"], started["deadline"]
    assert exec_ch, "the executive channel was not created"

    wait_for(lambda: sandbox.channel(ch)["is_archived"], timeout=ARCHIVE_DELAY_SECONDS + 60,
             what="the archive at the deadline")
    assert wait_final(run_id) == "COMPLETED"
    assert sandbox.channel(exec_ch)["is_archived"]
    archived_at = [r.at for r in sandbox.requests("slack", "conversations.archive")
                   if r.params.get("channel") in (ch, exec_ch)]
    assert len(archived_at) == 2 and min(archived_at) >= deadline, "archived before the deadline"
    assert started["during"] in set(read_transcript(sandbox, key)["ts"])
    comment = next(c for c in sandbox.jira_issue(key)["comments"]
                   if "archived the incident" in c)
    assert inc["name"] in comment and inc["exec_name"] in comment and alice in comment

    # The state and the lock are gone; the incident answers that it is closed.
    with pytest.raises(NotAnIncident):
        load_incident(ch)
    with get_client(sync_client=True) as client, pytest.raises(ObjectNotFound):
        client.read_global_concurrency_limit_by_name(lock_name(ch))
    for sub in ("archive", "backup"):
        answer = command_answer(driver, driver.command(sub, alice, ch, inc["name"]))
        assert "incident is closed" in answer["text"], (sub, answer)
        assert answer.get("response_type", "ephemeral") == "ephemeral"

    # A click on the old announcement after the archive: answered, nothing changes.
    assert_late_click_changes_nothing(driver, sandbox, inc, msg, ARCHIVE_CANCEL_ACTION,
                                      people["bob"])
    assert run_state(run_id) == "COMPLETED"


def test_slack_refusing_the_archive_leaves_a_usable_incident(
        driver: SlackDriver, sandbox: Any, people: dict[str, str],
        incidents: dict[str, Any], kicked_off: dict[str, Any]) -> None:
    inc = incidents["archive-refused"]
    ch, alice = inc["channel_id"], people["alice"]
    msg = start_archive(driver, sandbox, alice, inc)
    run_id = run_id_of(msg)
    wait_final(kicked_off["exec"]["run_id"])  # no other archive may take the injected answer
    sandbox.inject_fault("slack", "conversations.archive", 200, times=1,
                         body={"ok": False, "error": "restricted_action"})
    driver.click(ch, msg, ARCHIVE_NOW_ACTION, alice)
    assert wait_final(run_id, timeout=90) == "FAILED"
    assert not sandbox.channel(ch)["is_archived"]
    claims = [m["text"] for m in sandbox.messages(ch) if "is archived" in (m.get("text") or "")]
    assert claims == [], "the channel is told it is archived while it is open"
    retry = driver.command("archive", alice, ch, inc["name"])

    def outcome() -> tuple[str, Any] | None:
        for text in [retry.text] + [a["text"] for a in driver.answers(retry.response_url)]:
            if "closed" in text or "pending" in text:
                return "answer", text
        fresh = [m for m in sandbox.messages(ch) if has_buttons(m) and m["ts"] != msg["ts"]]
        return ("announcement", fresh[-1]) if fresh else None
    kind, again = wait_for(outcome, timeout=45, what="an answer to the retried archive")
    assert kind == "announcement", again
    driver.click(ch, again, ARCHIVE_CANCEL_ACTION, alice)
    wait_final(run_id_of(again))
