"""Update reminders and private incidents end to end, through `irbot serve`.

One private incident, opened through the modal with the commander picker set, at the one
severity the session reminds at (every REMINDER_MINUTES): its channels are private and its
title appears nowhere public; its commander is reminded, the reminder is snoozed (a double
click snoozes once), the next one comes a period after the snooze and never twice in one
period, and the reminders stop at the archive.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from prefect.deployments import run_deployment

from sandbox.driver import SlackDriver, wait_for
from tasks.deployments import REMIND
from tasks.messages import ARCHIVE_NOW_ACTION, REMINDER_SNOOZE_ACTION, is_irbot_notice
from tasks.state import find_incident
from tests.conftest import REMINDER_MINUTES, REMINDER_SEVERITY
from tests.e2e.support_runs import (
    FINAL,
    buttons,
    flow_runs,
    message_at,
    open_incidents,
    unique_title,
    wait_final,
)
from webhook.replies import SNOOZING

PERIOD = REMINDER_MINUTES * 60
SLACK = 1.0  # seconds of leeway between the sandbox's clock (ts) and the flows'
WAIT = PERIOD + 60  # one period, plus a run's start on a loaded machine


@pytest.fixture(scope="module")
def inc(driver: SlackDriver, sandbox: Any, people: dict[str, str],
        security: str) -> dict[str, Any]:
    """A private incident commanded by carol (picked in the modal), opened by alice."""
    [opened] = open_incidents(driver, sandbox, people["alice"], security, [{
        "people": [people["bob"]], "commander": people["carol"],
        "title": unique_title("Stolen laptop"), "severity": REMINDER_SEVERITY,
        "new_case": True, "exec_channel": True, "private": True}])
    return opened


def reminders(sandbox: Any, channel: str) -> list[dict[str, Any]]:
    """irbot's reminders in the channel, oldest first (snoozed ones included)."""
    return [m for m in sandbox.messages(channel) if is_irbot_notice(m) and (
        "no status update since" in m["text"] or m["text"].startswith("Update reminder snoozed"))]


def wait_reminder(sandbox: Any, channel: str, after: int) -> dict[str, Any]:
    """The first reminder after the first `after` ones."""
    return wait_for(lambda: next(iter(reminders(sandbox, channel)[after:]), None),
                    timeout=WAIT, interval=0.3, what=f"update reminder #{after + 1}")


def test_private_incident_keeps_its_title_out_of_public_view(
        driver: SlackDriver, sandbox: Any, people: dict[str, str], security: str,
        inc: dict[str, Any]) -> None:
    ch, exec_ch, key, title = (inc["channel_id"], inc["exec_channel_id"], inc["key"],
                               inc["title"])
    assert sandbox.channel(ch)["is_private"] is True
    assert sandbox.channel(exec_ch)["is_private"] is True
    assert people["carol"] in sandbox.channel(ch)["members"]
    welcome = next(m for m in sandbox.messages(ch) if is_irbot_notice(m))
    assert welcome["text"].startswith("Private incident channel for")
    assert f"commander <@{people['carol']}>" in welcome["text"]
    assert any(c.startswith("Private incident (security-sensitive)")
               for c in sandbox.jira_issue(key)["comments"])

    message = f"exfiltration suspected {uuid.uuid4().hex[:6]}"
    reply = driver.command(f'page engineering "{message}"', people["alice"], ch, inc["name"])
    assert reply.status == 200
    event = wait_for(lambda: next((e for e in sandbox.pagerduty_events
                                   if (e["payload"].get("custom_details") or {})
                                   .get("message") == message), None),
                     timeout=45, what="the PagerDuty event")
    assert event["payload"]["summary"] == f"[irbot] {key} — {message}"

    # Everything Slack users outside the incident's channels could see: ephemerals, DMs and
    # posts anywhere else (the origin channel among them), answers on response URLs, pages.
    inside = {ch, exec_ch}
    public = [str(e) for e in sandbox.ephemerals if e["channel"] not in inside]
    public += [str(r.params) for r in sandbox.requests("slack")
               if str((r.params or {}).get("channel", "")) not in inside]
    public += [str(m) for m in sandbox.messages(security)]
    public += [str(r["body"]) for r in sandbox.responses]
    public += [str(e) for e in sandbox.pagerduty_events]
    assert any(f"Private incident {key} is ready" in text for text in public)
    assert [text for text in public if title in text] == []


def test_reminder_fires_is_snoozed_once_and_stops_at_archive(
        driver: SlackDriver, sandbox: Any, people: dict[str, str],
        inc: dict[str, Any]) -> None:
    ch, alice, bob, carol = inc["channel_id"], people["alice"], people["bob"], people["carol"]
    state = find_incident(ch)
    assert state is not None and state.commander == carol

    first = wait_reminder(sandbox, ch, 0)
    assert first["text"].startswith(f"<@{carol}>, no status update since")
    assert float(first["ts"]) >= state.created_at.timestamp() + PERIOD - SLACK
    assert [b["action_id"] for b in buttons(first)] == [REMINDER_SNOOZE_ACTION]
    # Another check in the same quiet period (an operator's run, a duplicate): it must post
    # nothing. It runs alongside the snooze below; both hold the incident's lock in turn.
    extra = run_deployment(REMIND, parameters={"channel_id": ch}, timeout=0)

    # Snooze, twice (a double click, by two people): answered at once, one snooze run.
    clicked = [driver.click(ch, first, REMINDER_SNOOZE_ACTION, who) for who in (alice, bob)]
    for reply in clicked:
        assert reply.status == 200 and reply.elapsed < 3, reply
        answer = driver.wait_answer(reply.response_url)
        assert answer["text"] == SNOOZING and answer.get("response_type") == "ephemeral"
    snoozed = wait_for(lambda: (lambda m: m if m["text"].startswith("Update reminder snoozed")
                                else None)(message_at(sandbox, ch, first["ts"])),
                       timeout=45, what="the reminder to show the snooze")
    assert buttons(snoozed) == []
    [snooze_run] = flow_runs(REMIND, channel_id=ch, reminder_ts=first["ts"])
    assert wait_final(str(snooze_run.id)) == "COMPLETED"
    assert wait_final(str(extra.id)) == "COMPLETED"  # type: ignore[union-attr]
    state = find_incident(ch)
    assert state is not None and state.snoozed_until is not None
    assert state.snoozed_until.timestamp() >= float(first["ts"]) + PERIOD - SLACK

    # The next one comes one period after the snooze, not before; the extra check posted
    # nothing in between.
    second = wait_reminder(sandbox, ch, 1)
    assert float(second["ts"]) >= state.snoozed_until.timestamp() - SLACK
    assert second["text"].startswith(f"<@{carol}>, no status update since")
    assert [r["ts"] for r in reminders(sandbox, ch)] == [first["ts"], second["ts"]]

    # Archive: the pending check is deleted, and no reminder comes after.
    driver.command("archive", alice, ch, inc["name"])
    announcement = wait_for(lambda: next((m for m in reversed(sandbox.messages(ch)) if any(
        b["action_id"] == ARCHIVE_NOW_ACTION for b in buttons(m))), None),
        timeout=45, what="the archive announcement")
    driver.click(ch, announcement, ARCHIVE_NOW_ACTION, alice)
    wait_for(lambda: sandbox.channel(ch)["is_archived"] and find_incident(ch) is None,
             timeout=90, what="the archive")
    # No check is left scheduled (the archive deletes the pending one: test_remind_flow.py
    # shows it without this test's timing), and every other check is over: none can come.
    assert [r.state.name for r in flow_runs(REMIND, channel_id=ch)
            if r.state and r.state.type.value == "SCHEDULED"] == []
    wait_for(lambda: all(r.state and r.state.type.value in FINAL
                         for r in flow_runs(REMIND, channel_id=ch)),
             timeout=30, what="no reminder check left to run")
    done = len(reminders(sandbox, ch))
    time.sleep(2)
    assert len(reminders(sandbox, ch)) == done
