"""archive-incident: announce → wait (Cancel / Archive now / deadline) → final backup → archive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import FlowPauseTimeout, ObjectNotFound
from prefect.flow_runs import pause_flow_run, resume_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Cancelled
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from flows.backup import backup_incident
from tasks import jira as jira_tasks
from tasks import messages
from tasks import slack as slack_tasks
from tasks.clients import jira_client, slack_client
from tasks.errors import NotAnIncident
from tasks.settings import get_settings
from tasks.state import (
    IncidentState,
    delete_incident,
    incident_lock,
    load_incident,
    run_is_final,
    save_incident,
)

DEADLINE = "deadline"  # decided_by when the timer, not a person, resumed the wait
# The pause outlives the deadline so that the timer run, not a pause timeout, ends the wait.
_PAUSE_MARGIN_SECONDS = 900


class ArchiveDecision(RunInput):
    """What resumes the wait: Slack buttons, the Prefect UI form, or the deadline timer."""

    decision: Literal["cancel", "archive"]
    decided_by: str


def _who(user: str | None) -> str:
    """How Slack should name who asked or decided."""
    if not user:
        return "an operator (from Prefect)"
    if user == DEADLINE:
        return "the deadline"
    return f"<@{user}>" if user[:1] in "UW" else user


def _decider(slack: WebClient, decided_by: str) -> str:
    """Who resumed the wait, for the Jira record (a UI resume may name anyone)."""
    if decided_by == DEADLINE:
        return "the deadline"
    return slack_tasks.person(slack, decided_by) if decided_by[:1] in "UW" else decided_by


def _run_state(run_id: str) -> str | None:
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(UUID(run_id))
        except (ObjectNotFound, ValueError):
            return None
    return run.state.type.value if run.state else None


def _on_cancellation(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect hook: Cancel pressed on this run in the Prefect UI."""
    _cancelled_in_prefect(flow_run)


@flow(name="archive-incident", on_cancellation=[_on_cancellation])
def archive_incident(channel_id: str, requested_by: str | None = None,
                     resume_run_id: str | None = None) -> dict[str, Any]:
    """Archive the incident channel after a notice period and a final backup."""
    if resume_run_id:
        return _deadline_reached(resume_run_id)
    settings = get_settings()
    slack = slack_client(settings)
    me = str(flow_run.id)
    delay = settings.IRBOT_ARCHIVE_DELAY_SECONDS
    deadline = datetime.now(UTC) + timedelta(seconds=delay)

    with incident_lock(channel_id):
        state = load_incident(channel_id)
        pending = state.archive_flow_run_id
        if pending and pending != me and not run_is_final(_run_state(pending)):
            if requested_by:
                slack_tasks.tell_user(slack, channel_id, requested_by,
                                      "An archive is already pending for this channel; "
                                      "see the announcement above.")
            return {"outcome": "already_pending", "pending_run": pending}
        # Marker first: once anyone can see the announcement, `/irbot archive` sees it pending.
        state.archive_flow_run_id, state.archive_deadline = me, deadline
        save_incident(state)
        # The timer before the buttons: once people can click, as little as possible should
        # stand between them and the pause (a click before it is retried only for a while).
        timer: FlowRun = run_deployment(  # type: ignore[assignment]  # sync in a sync flow
            "archive-incident/archive", timeout=0, as_subflow=False,
            parameters={"channel_id": channel_id, "resume_run_id": me},
            scheduled_time=deadline, idempotency_key=f"archive-timer-{me}")
        text, blocks = messages.archive_announcement(requested_by, deadline, me)
        state.archive_message_ts = slack_tasks.post_message(slack, channel_id, text, blocks)
        save_incident(state)

    try:
        choice = pause_flow_run(wait_for_input=ArchiveDecision,
                                timeout=delay + _PAUSE_MARGIN_SECONDS, poll_interval=1)
    except FlowPauseTimeout:  # the timer never came: treat it as the deadline
        choice = ArchiveDecision(decision="archive", decided_by=DEADLINE)
    _forget_timer(str(timer.id))

    if choice.decision == "cancel":
        _settle(slack, channel_id, me, f"Archive cancelled by {_who(choice.decided_by)}. "
                "The channel stays open.")
        return {"outcome": "cancelled", "decided_by": choice.decided_by}
    return _archive(slack, channel_id, requested_by, choice.decided_by)


def _archive(slack: WebClient, channel_id: str, requested_by: str | None,
             decided_by: str) -> dict[str, Any]:
    """Final backup, then archive, then forget; any failure leaves the channel open."""
    state = load_incident(channel_id)
    _update_announcement(slack, state, f"Archiving now ({_who(decided_by)}): taking a final "
                         "backup first…")
    try:
        backup = backup_incident(channel_id, requested_by=requested_by)
    except Exception:
        _settle(slack, channel_id, str(flow_run.id), "The final backup failed, so this channel "
                "was *not* archived. Nothing was deleted. Details: "
                f"{flow_run.ui_url or 'the Prefect UI'}")
        raise
    with incident_lock(channel_id):
        state = load_incident(channel_id)
        state.closing = True  # from here on, commands answer that the incident is closed
        save_incident(state)
    _update_announcement(slack, state, f"Final backup saved to {state.case_key}. This channel "
                         f"is archived at the request of {_who(requested_by)}.")
    try:
        if state.exec_channel_id:
            slack_tasks.archive_channel(slack, state.exec_channel_id)
        slack_tasks.archive_channel(slack, channel_id)
    except Exception as exc:
        _reopen(slack, channel_id, exc)
        raise
    channels = ", ".join(f"#{n}" for n in (state.channel_name, state.exec_channel_name) if n)
    jira_tasks.add_comment(jira_client(), state.case_key, messages.archive_comment(
        channels, slack_tasks.person(slack, requested_by), _decider(slack, decided_by),
        int(backup.get("total_messages") or 0)))
    delete_incident(channel_id)
    get_run_logger().info("Archived %s", channels)
    return {"outcome": "archived", "decided_by": decided_by}


def _reopen(slack: WebClient, channel_id: str, exc: Exception) -> None:
    """Slack would not archive: the incident stays open and usable, and the channel is told."""
    reason = (slack_tasks.describe_slack_error(exc) if isinstance(exc, SlackApiError)
              else type(exc).__name__)
    with incident_lock(channel_id):
        state = load_incident(channel_id)
        state.closing = False
        save_incident(state)
    _settle(slack, channel_id, str(flow_run.id),
            f"The final backup is saved, but the channel could not be archived ({reason}). "
            "The incident stays open: fix the cause, then `/irbot archive` again.")


def _update_announcement(slack: WebClient, state: IncidentState, text: str) -> None:
    if state.archive_message_ts:
        body, blocks = messages.archive_outcome(text)
        slack_tasks.update_message(slack, state.channel_id, state.archive_message_ts, body, blocks)


def _settle(slack: WebClient, channel_id: str, run_id: str, text: str) -> None:
    """This archive is off: say so where its buttons were and clear its pending marker."""
    with incident_lock(channel_id):
        state = load_incident(channel_id)
        if state.archive_flow_run_id != run_id:
            return  # another archive owns the marker now
        announcement = state.archive_message_ts
        # Clear first: once people read "cancelled", a new /irbot archive must be accepted.
        state.archive_flow_run_id = state.archive_deadline = state.archive_message_ts = None
        save_incident(state)
    if announcement:
        body, blocks = messages.archive_outcome(text)
        slack_tasks.update_message(slack, channel_id, announcement, body, blocks)


def _forget_timer(timer_id: str) -> None:
    """The wait is over: cancel the timer if it has not started (if it has, it finds nothing
    paused and ends by itself; deleting a started run would crash it)."""
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(UUID(timer_id))
        except ObjectNotFound:
            return
        if run.state is not None and run.state.type.value in ("SCHEDULED", "PENDING"):
            client.set_flow_run_state(UUID(timer_id), Cancelled(
                message="The archive was decided before its deadline."), force=True)


def _deadline_reached(run_id: str) -> dict[str, Any]:
    """Timer mode: resume the waiting archive with "archive", if it is still waiting."""
    if _run_state(run_id) != "PAUSED":
        return {"outcome": "nothing_to_resume", "run": run_id}
    resume_flow_run(UUID(run_id), run_input={"decision": "archive", "decided_by": DEADLINE})
    return {"outcome": "resumed", "run": run_id}


def _cancelled_in_prefect(run: Any) -> None:
    """Cancel pressed in the Prefect UI: the channel stays open; say so."""
    channel_id = (run.parameters or {}).get("channel_id")
    if not channel_id or (run.parameters or {}).get("resume_run_id"):
        return
    try:
        if load_incident(channel_id).closing:
            return  # too late to cancel: the channels are being archived
    except NotAnIncident:
        return
    _settle(slack_client(), channel_id, str(run.id),
            "The pending archive was cancelled from Prefect. The channel stays open.")
