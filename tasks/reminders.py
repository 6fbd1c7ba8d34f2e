"""Update reminders: when the commander is next due one (pure), and the run that checks then.

Nothing waits in a process: each check is a run of `remind-incident/remind` scheduled in Prefect
for the moment a reminder falls due (visible in the UI as a Scheduled run). Create, every check,
a snooze and every change to the state's `last_update_at` or severity schedule the next check;
the state keeps that run's id, so a newer schedule deletes the older run (as the archive does
with its deadline timer), and the archive deletes the last one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect.deployments import run_deployment

from tasks import deployments
from tasks.errors import NotAnIncident
from tasks.runs import remove_scheduled_run, run_state
from tasks.settings import get_settings
from tasks.state import IncidentState, find_incident, incident_lock, save_incident

# A scheduled run may start a moment before its time by another clock's reckoning.
_EARLY = timedelta(seconds=1)


def aware(moment: datetime) -> datetime:
    """A stored time with its timezone (a naive one was written as UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def quiet_since(state: IncidentState) -> datetime:
    """Since when nobody posted a status update: the last one, else the incident's opening."""
    return aware(state.last_update_at or state.created_at)


def next_reminder_at(state: IncidentState, period: timedelta | None) -> datetime | None:
    """When the commander is next due a reminder; None when this severity has none.

    One period of quiet earns one reminder: after a reminder the next is a period later (never
    twice for the same quiet period), and a snooze holds them off until its end.
    """
    if period is None:
        return None
    since = quiet_since(state)
    due = since + period
    if state.last_reminder_at and aware(state.last_reminder_at) >= since:
        due = max(due, aware(state.last_reminder_at) + period)
    if state.snoozed_until:
        due = max(due, aware(state.snoozed_until))
    return due


def is_due(due: datetime | None, now: datetime) -> bool:
    return due is not None and due - _EARLY <= now


def check_key(channel_id: str, due: datetime) -> str:
    """The idempotency key of the check due then: scheduling it twice makes one run."""
    return f"remind-{channel_id}-{due.timestamp():.3f}"


def plan_next_check(state: IncidentState, due: datetime | None) -> None:
    """Schedule the check for `due` (None: no check) in place of the one pending.

    The caller holds the incident lock and saves the state. The new run is created before the
    old one is deleted, so a failure in between leaves two checks (harmless), never none.
    """
    old = state.reminder_run_id
    if due is None:
        remove_scheduled_run(old)
        state.reminder_run_id = state.reminder_due_at = None
        return
    if old and state.reminder_due_at == due and run_state(old) == "SCHEDULED":
        return  # that very check is already waiting
    run = run_deployment(deployments.REMIND, timeout=0, as_subflow=False,
                         parameters={"channel_id": state.channel_id}, scheduled_time=due,
                         idempotency_key=check_key(state.channel_id, due))
    state.reminder_run_id = str(run.id)  # type: ignore[union-attr]  # sync call
    state.reminder_due_at = due
    if old and old != state.reminder_run_id:
        remove_scheduled_run(old)  # a run already started (this one, say) is left alone


def schedule_reminder(channel_id: str) -> datetime | None:
    """(Re)schedule the incident's next reminder check from its state; returns when it is due.

    Call it after saving a change to `last_update_at` or `severity`, with the incident lock
    released (this takes the lock). Nothing happens for an incident that is gone or closing.
    """
    settings = get_settings()
    seen = find_incident(channel_id)
    if seen is None or (settings.reminder_period(seen.severity) is None
                        and not seen.reminder_run_id):
        return None  # no incident, or no reminders at its severity and none pending: no lock
    try:
        with incident_lock(channel_id):
            state = find_incident(channel_id)
            if state is None or state.closing:
                return None
            due = next_reminder_at(state, settings.reminder_period(state.severity))
            before = (state.reminder_run_id, state.reminder_due_at)
            plan_next_check(state, due)
            if (state.reminder_run_id, state.reminder_due_at) != before:
                save_incident(state)
            return due
    except NotAnIncident:  # archived between the look and the lock
        return None
