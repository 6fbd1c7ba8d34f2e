"""remind-incident: is an update due? → remind the commander → schedule the next check.

The reminder goes in the incident channel, mentioning the commander, rather than in a DM: the
team sees that an update is due, and anyone there may post it or snooze. The same deployment
snoozes (`snoozed_by`, from the reminder's button). Every run is short and
holds the incident lock only for its read-modify-write; no run waits for the next reminder:
it schedules a run of its own for then (tasks/reminders.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from slack_sdk import WebClient

from tasks import deployments, messages
from tasks import slack as slack_tasks
from tasks.clients import slack_client
from tasks.errors import NotAnIncident
from tasks.reminders import is_due, next_reminder_at, plan_next_check, quiet_since
from tasks.runs import refuse_crash_loop
from tasks.settings import get_settings
from tasks.state import IncidentState, commander_of, find_incident, incident_lock, save_incident


@flow(name=deployments.flow_of(deployments.REMIND))
def remind_incident(channel_id: str, snoozed_by: str | None = None,
                    reminder_ts: str | None = None) -> dict[str, Any]:
    """Remind the commander to post an update when one is due (or snooze the reminder)."""
    refuse_crash_loop(str(flow_run.id), int(flow_run.run_count or 1))
    if find_incident(channel_id) is None:
        return {"outcome": "no_incident"}  # archived: nothing to remind anyone of
    slack = slack_client()
    try:
        with incident_lock(channel_id):
            state = find_incident(channel_id)
            if state is None or state.closing:
                return {"outcome": "closed"}  # the archive deletes what is scheduled
            if snoozed_by:
                outcome = _snooze(slack, state, snoozed_by, reminder_ts or "")
            else:
                outcome = _check(slack, state)
            save_incident(state)
    except NotAnIncident:  # archived between the look and the lock
        return {"outcome": "no_incident"}
    get_run_logger().info("Reminder check of %s: %s (next due %s)", channel_id, outcome,
                          state.reminder_due_at)
    return {"outcome": outcome,
            "next_due": state.reminder_due_at.isoformat() if state.reminder_due_at else None}


def _check(slack: WebClient, state: IncidentState) -> str:
    """Post the reminder if one is due, then schedule the check for the next one."""
    period = get_settings().reminder_period(state.severity)
    due, now = next_reminder_at(state, period), datetime.now(UTC)
    outcome = "not_due" if period else "off"
    if period and due and is_due(due, now):
        text, blocks = messages.update_reminder(
            commander_of(state), quiet_since(state),
            messages.duration_text(round(period.total_seconds())), state.channel_id)
        # Keyed by the quiet period it is for: a retried post finds itself instead of repeating.
        state.last_reminder_ts = slack_tasks.post_message(
            slack, state.channel_id, text, blocks, kind="reminder",
            key=f"reminder:{due.timestamp():.3f}")
        state.last_reminder_at = now
        due, outcome = next_reminder_at(state, period), "reminded"
    plan_next_check(state, due)
    return outcome


def _snooze(slack: WebClient, state: IncidentState, snoozed_by: str, reminder_ts: str) -> str:
    """Hold reminders off for one period from now; once per reminder, the latest only."""
    period = get_settings().reminder_period(state.severity)
    if state.snoozed_reminder_ts == reminder_ts:
        return "already_snoozed"  # a second click on the same reminder
    if period is None:
        return "off"  # the severity changed to one without reminders: nothing to hold off
    if not reminder_ts or reminder_ts != state.last_reminder_ts:
        slack_tasks.tell_user(slack, state.channel_id, snoozed_by, messages.REMINDER_OUTDATED)
        return "outdated"
    state.snoozed_until = datetime.now(UTC) + period
    state.snoozed_reminder_ts = reminder_ts
    plan_next_check(state, next_reminder_at(state, period))
    text, blocks = messages.reminder_snoozed(snoozed_by, state.snoozed_until)
    slack_tasks.update_message(slack, state.channel_id, reminder_ts, text, blocks)
    return "snoozed"
