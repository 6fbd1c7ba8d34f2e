"""remind-incident and create's private incidents, run in-process against the sandbox and the
session's Prefect API. The remind deployment is registered (not served): the checks a run
schedules stay Scheduled, an hour out, for the test to read; the test runs the checks itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from prefect import flow

from tasks.messages import REMINDER_SNOOZE_ACTION, is_irbot_notice
from tests.flows.support import unique

PERIOD = timedelta(minutes=60)


@pytest.fixture(scope="module")
def remind_deployment(prefect_api: str) -> str:
    """`remind-incident/remind` known to the API, so checks can be scheduled."""
    from flows.remind import remind_incident
    from tasks.deployments import REMIND, name_of

    return str(remind_incident.to_deployment(name=name_of(REMIND)).apply())


@pytest.fixture
def reminders(settings_env: dict[str, str], remind_deployment: str,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SEV-3 reminders every hour (the session's `irbot serve` has none at SEV-3, so a check
    it happened to run would change nothing these tests look at)."""
    monkeypatch.setenv("IRBOT_UPDATE_REMINDER_MINUTES", '{"SEV-3": 60}')
    yield


def change_state(channel_id: str, **fields: Any) -> None:
    """What the update/severity flows do to the state (under the lock)."""
    from tasks.state import incident_lock, load_incident, save_incident

    with incident_lock(channel_id):
        state = load_incident(channel_id)
        for name, value in fields.items():
            setattr(state, name, value)
        save_incident(state)


def scheduled(run_id: str | None) -> tuple[str | None, datetime | None, dict[str, Any]]:
    """A run's state type, scheduled time and parameters (None, None, {} once deleted)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    assert run_id
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(UUID(run_id))
        except ObjectNotFound:
            return None, None, {}
    assert run.state is not None
    return run.state.type.value, run.expected_start_time, run.parameters


def reminders_in(sandbox: Any, channel_id: str) -> list[dict[str, Any]]:
    return [m for m in sandbox.messages(channel_id)
            if is_irbot_notice(m) and "no status update since" in (m.get("text") or "")]


def buttons(message: dict[str, Any]) -> list[str]:
    return [e.get("action_id", "") for b in message.get("blocks") or []
            for e in b.get("elements") or [] if e.get("type") == "button"]


def remind(channel_id: str, **kwargs: Any) -> dict[str, Any]:
    from flows.remind import remind_incident

    return remind_incident(channel_id=channel_id, **kwargs)


def test_schedule_reminder_keeps_one_scheduled_check(
        reminders: None, seed_incident: Callable[..., dict[str, str]]) -> None:
    from tasks.reminders import schedule_reminder
    from tasks.state import load_incident

    ch = seed_incident()["channel_id"]
    created = load_incident(ch).created_at
    assert schedule_reminder(ch) == created + PERIOD
    first = load_incident(ch).reminder_run_id
    kind, when, params = scheduled(first)
    assert kind == "SCHEDULED" and params == {"channel_id": ch}
    assert when is not None and abs(when - (created + PERIOD)) < timedelta(seconds=1)
    assert schedule_reminder(ch) == created + PERIOD
    assert load_incident(ch).reminder_run_id == first  # the same check, not a second one

    updated = datetime.now(UTC)
    change_state(ch, last_update_at=updated)  # an update was posted: quiet starts again
    assert schedule_reminder(ch) == updated + PERIOD
    second = load_incident(ch).reminder_run_id
    assert second != first and scheduled(second)[0] == "SCHEDULED"
    assert scheduled(first) == (None, None, {})  # the older check is deleted

    change_state(ch, severity="SEV-1")  # a severity without reminders here
    assert schedule_reminder(ch) is None
    assert load_incident(ch).reminder_run_id is None and scheduled(second)[0] is None


def test_a_due_reminder_is_posted_once_and_snoozed_once(
        sandbox: Any, crew: dict[str, str], reminders: None,
        seed_incident: Callable[..., dict[str, str]]) -> None:
    from tasks.state import load_incident

    ch = seed_incident()["channel_id"]
    change_state(ch, created_at=datetime.now(UTC) - PERIOD - timedelta(minutes=1),
                 commander=crew["cat"])
    assert remind(ch)["outcome"] == "reminded"
    [reminder] = reminders_in(sandbox, ch)
    assert reminder["text"].startswith(f"<@{crew['cat']}>, no status update since")
    assert buttons(reminder) == [REMINDER_SNOOZE_ACTION]
    state = load_incident(ch)
    assert state.last_reminder_ts == reminder["ts"] and state.last_reminder_at is not None
    assert state.reminder_due_at == state.last_reminder_at + PERIOD
    assert scheduled(state.reminder_run_id)[0] == "SCHEDULED"

    # Another check in the same quiet period (a duplicate run, an operator's run): nothing.
    assert remind(ch)["outcome"] == "not_due"
    assert len(reminders_in(sandbox, ch)) == 1
    posts = len(sandbox.messages(ch))

    before = datetime.now(UTC)
    out = remind(ch, snoozed_by=crew["ben"], reminder_ts=reminder["ts"])
    assert out["outcome"] == "snoozed"
    [snoozed] = [m for m in sandbox.messages(ch) if m["ts"] == reminder["ts"]]
    assert snoozed["text"].startswith(f"Update reminder snoozed by <@{crew['ben']}>")
    assert buttons(snoozed) == []
    state = load_incident(ch)
    assert state.snoozed_until is not None and state.snoozed_until >= before + PERIOD
    assert state.reminder_due_at == state.snoozed_until  # one period after the snooze
    kind, when, _ = scheduled(state.reminder_run_id)
    assert kind == "SCHEDULED" and when is not None
    assert abs(when - state.snoozed_until) < timedelta(seconds=1)

    # A double click (another run for the same reminder) changes nothing.
    again = remind(ch, snoozed_by=crew["ann"], reminder_ts=reminder["ts"])
    assert again["outcome"] == "already_snoozed"
    assert load_incident(ch).snoozed_until == state.snoozed_until
    # A click on something that is not the latest reminder is answered, and changes nothing.
    seen = len(sandbox.ephemerals)
    assert remind(ch, snoozed_by=crew["ann"], reminder_ts="1.000001")["outcome"] == "outdated"
    assert [e["text"] for e in sandbox.ephemerals[seen:] if e["user"] == crew["ann"]] == [
        "That is not the latest update reminder, so nothing was snoozed; use the Snooze "
        "button on the newest one."]
    assert len(sandbox.messages(ch)) == posts  # snoozes update the reminder, post nothing


def test_no_reminder_once_the_incident_is_gone_or_closing(
        sandbox: Any, reminders: None, seed_incident: Callable[..., dict[str, str]]) -> None:
    from tasks.state import delete_incident

    ch = seed_incident()["channel_id"]
    change_state(ch, created_at=datetime.now(UTC) - 2 * PERIOD, closing=True)
    assert remind(ch)["outcome"] == "closed"
    delete_incident(ch)
    assert remind(ch)["outcome"] == "no_incident"
    assert reminders_in(sandbox, ch) == []


def test_private_incident_with_a_commander(
        sandbox: Any, settings_env: dict[str, str], crew: dict[str, str], origin: str) -> None:
    from flows.create import create_incident
    from flows.page import page_team
    from tasks.state import load_incident

    title = unique("Leaked signing key")
    seen = len(sandbox.ephemerals)
    result = create_incident(requested_by=crew["ann"], invitees=[crew["ben"]], title=title,
                             severity="SEV-3", exec_channel=True, origin_channel=origin,
                             commander=crew["cat"], private=True)
    ch, key = result["channel_id"], result["case_key"]
    for channel_id in (ch, result["exec_channel_id"]):
        assert sandbox.channel(channel_id)["is_private"] is True
    state = load_incident(ch)
    assert state.private is True and state.commander == crew["cat"]
    assert crew["cat"] in sandbox.channel(ch)["members"]
    welcome = next(m for m in sandbox.messages(ch) if is_irbot_notice(m))
    assert f"commander <@{crew['cat']}>" in welcome["text"] and title in welcome["text"]
    told = [e["text"] for e in sandbox.ephemerals[seen:] if e["user"] == crew["ann"]]
    assert told and all(title not in t for t in told)
    assert any(t.startswith(f"Private incident {key} is ready") for t in told), told
    assert any(c.startswith("Private incident (security-sensitive)")
               for c in sandbox.jira_issue(key)["comments"])

    message = unique("rotate now")
    page_team(channel_id=ch, team="engineering", message=message, requested_by=crew["ann"])
    [event] = [e for e in sandbox.pagerduty_events
               if (e["payload"].get("custom_details") or {}).get("message") == message]
    assert event["payload"]["summary"] == f"[irbot] {key} — {message}"
    assert title not in str(event)


@flow(name="irbot-test-archive-steps")
def _archive_now(channel_id: str, requested_by: str) -> None:
    """archive-incident's steps after the decision (final backup, archive, forget), as its
    run takes them once resumed."""
    from flows.archive import _archive
    from tasks.clients import slack_client

    _archive(slack_client(), channel_id, requested_by, requested_by)


def test_the_archive_deletes_the_pending_check(
        sandbox: Any, crew: dict[str, str], reminders: None,
        seed_incident: Callable[..., dict[str, str]]) -> None:
    from tasks.reminders import schedule_reminder
    from tasks.state import find_incident, load_incident

    ch = seed_incident()["channel_id"]
    assert schedule_reminder(ch) is not None
    pending = load_incident(ch).reminder_run_id
    assert scheduled(pending)[0] == "SCHEDULED"
    _archive_now(ch, crew["ann"])
    assert sandbox.channel(ch)["is_archived"] and find_incident(ch) is None
    assert scheduled(pending) == (None, None, {})  # deleted, not left to fire for nothing
    assert schedule_reminder(ch) is None  # and nothing schedules another
