"""archive-incident: announce → wait (Cancel / Archive now / deadline) → final backup → archive.

The wait holds no process and no run slot: the run is suspended (Prefect's Paused state, named
"Suspended") and re-runs from the top once resumed. Whatever ran before the wait is skipped on
that re-run by markers in the incident state, and the decision is read back from the run's
input, so a restart, a crash or a re-run never announces twice or waits twice.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.flow_runs import resume_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.input.actions import read_flow_run_input
from prefect.input.run_input import keyset_from_base_key
from prefect.runtime import flow_run
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from flows.backup import backup_incident
from tasks import deployments, messages
from tasks import jira as jira_tasks
from tasks import slack as slack_tasks
from tasks.clients import jira_client, slack_client
from tasks.reminders import schedule_reminder
from tasks.runs import refuse_crash_loop, remove_scheduled_run, run_state
from tasks.settings import get_settings
from tasks.state import (
    IncidentState,
    archive_pending,
    delete_incident,
    find_incident,
    incident_lock,
    load_incident,
    run_is_final,
    save_incident,
)

WAIT_KEY = "archive-decision"  # the suspension's key: the same on every re-run of a run
# The suspension outlives the deadline so that the timer run, not its expiry (which would end
# the run Failed), ends the wait; the margin covers an `irbot serve` down at the deadline.
_SUSPEND_MARGIN_SECONDS = 3600
_TIMER_WAIT_SECONDS = 120  # how long the timer waits for a run still on its way to the wait


class ArchiveDecision(RunInput):
    """What resumes the wait: Slack buttons, the Prefect UI form, or the deadline timer."""

    decision: Literal["cancel", "archive"]
    decided_by: str


def _decider(slack: WebClient, decided_by: str) -> str:
    """Who resumed the wait, for the Jira record (a UI resume may name anyone)."""
    if decided_by[:1] in "UW":
        return slack_tasks.person(slack, decided_by)
    return messages.who(decided_by)


@flow(name=deployments.flow_of(deployments.ARCHIVE))
def archive_incident(channel_id: str, requested_by: str | None = None,
                     resume_run_id: str | None = None,
                     cancelled_run_id: str | None = None) -> dict[str, Any]:
    """Archive the incident channel after a notice period and a final backup.

    Two helper modes share the deployment: `resume_run_id` is the deadline timer, and
    `cancelled_run_id` announces an archive cancelled in the Prefect UI (run by an automation).
    """
    if resume_run_id:
        return _deadline_reached(resume_run_id)
    if cancelled_run_id:
        return _cancelled_in_prefect(cancelled_run_id)
    me = str(flow_run.id)
    refuse_crash_loop(me, int(flow_run.run_count or 1))
    settings = get_settings()
    slack = slack_client(settings)

    # A re-run (after the resume, or after a crash) already holds the decision. (Not gated on
    # run_count: Prefect does not count a resume as a new run.)
    choice = _decision_so_far(me)
    if choice is None:
        state = _prepare_wait(slack, channel_id, requested_by, me,
                              settings.IRBOT_ARCHIVE_DELAY_SECONDS)
        if state is None:
            return {"outcome": "already_pending"}
        if state.archive_deadline and state.archive_deadline <= datetime.now(UTC):
            # Re-run after a crash past the deadline: the timer found nothing to resume.
            choice = ArchiveDecision(decision="archive", decided_by=messages.DEADLINE)
        else:
            # The first time, this ends the process; the run re-runs once resumed.
            choice = suspend_flow_run(
                wait_for_input=ArchiveDecision, key=WAIT_KEY,
                timeout=settings.IRBOT_ARCHIVE_DELAY_SECONDS + _SUSPEND_MARGIN_SECONDS)

    state = find_incident(channel_id)
    if state is None:
        return {"outcome": "archived"}  # a re-run after the incident was already closed
    remove_scheduled_run(state.archive_timer_run_id)
    if choice.decision == "cancel":
        _settle(slack, channel_id, me, messages.archive_cancelled(choice.decided_by))
        return {"outcome": "cancelled", "decided_by": choice.decided_by}
    return _archive(slack, channel_id, requested_by, choice.decided_by)


def _decision_so_far(run_id: str) -> ArchiveDecision | None:
    """The decision this run was resumed with, if it was (read back on every re-run)."""
    keyset = keyset_from_base_key(f"suspended-{WAIT_KEY}")
    value: Any = read_flow_run_input(keyset["response"], flow_run_id=UUID(run_id))
    return ArchiveDecision(**value) if isinstance(value, dict) else None


def _prepare_wait(slack: WebClient, channel_id: str, requested_by: str | None, me: str,
                  delay: int) -> IncidentState | None:
    """Marker, deadline timer, announcement: each once per run (a re-run after a crash does
    only what is missing). None when another archive is already pending."""
    with incident_lock(channel_id):
        state = load_incident(channel_id)
        if state.archive_flow_run_id != me:
            if archive_pending(state, run_state(state.archive_flow_run_id)):
                if requested_by:
                    slack_tasks.tell_user(slack, channel_id, requested_by,
                                          messages.ARCHIVE_ALREADY_PENDING)
                return None
            # Marker first: once anyone sees the announcement, `/irbot archive` sees it pending.
            state.archive_flow_run_id = me
            state.archive_deadline = datetime.now(UTC) + timedelta(seconds=delay)
            state.archive_message_ts = state.archive_timer_run_id = None
            state.archive_decided_by = None
            state.closing = False  # a stale "closing" of a failed archive no longer holds
            save_incident(state)
        assert state.archive_deadline is not None
        if not state.archive_timer_run_id:
            # Before the buttons: once people can click, as little as possible should stand
            # between them and the wait (a click before it is retried only for a while).
            timer = run_deployment(
                deployments.ARCHIVE, timeout=0, as_subflow=False,
                parameters={"channel_id": channel_id, "resume_run_id": me},
                scheduled_time=state.archive_deadline, idempotency_key=f"archive-timer-{me}")
            state.archive_timer_run_id = str(timer.id)  # type: ignore[union-attr]  # sync flow
        if not state.archive_message_ts:
            text, blocks = messages.archive_announcement(requested_by, state.archive_deadline,
                                                         me)
            state.archive_message_ts = slack_tasks.post_message(
                slack, channel_id, text, blocks, kind="archive", key=f"{me}:announcement")
        save_incident(state)
        return state


def _archive(slack: WebClient, channel_id: str, requested_by: str | None,
             decided_by: str) -> dict[str, Any]:
    """Final backup, then archive, then forget; any failure leaves the channel open."""
    state = load_incident(channel_id)
    if not state.closing:
        _update_announcement(slack, state, messages.archiving_now(decided_by))
        try:
            # Final: every thread re-read, the transcript checked complete, the timeline
            # posted; a gap fails it, and so keeps the channel open.
            backup_incident(channel_id, requested_by=requested_by, final=True)
        except Exception:
            _settle(slack, channel_id, str(flow_run.id),
                    messages.final_backup_failed(flow_run.ui_url or ""))
            raise
        with incident_lock(channel_id):
            state = load_incident(channel_id)
            state.closing = True  # from here on, commands answer that the incident is closed
            state.archive_decided_by = decided_by
            save_incident(state)
    _update_announcement(slack, state, messages.archived(state.case_key, requested_by))
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
        state.message_count))
    remove_scheduled_run(state.reminder_run_id)  # closing: no check schedules another now
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
    _settle(slack, channel_id, str(flow_run.id), messages.archive_refused(reason))
    try:
        schedule_reminder(channel_id)  # open again: the reminder checks stopped while closing
    except Exception:  # the refusal above is what the run must report
        get_run_logger().exception("Could not schedule the update reminder again")


def _update_announcement(slack: WebClient, state: IncidentState, text: str) -> None:
    if state.archive_message_ts:
        body, blocks = messages.archive_outcome(text)
        try:
            slack_tasks.update_message(slack, state.channel_id, state.archive_message_ts, body,
                                       blocks)
        except SlackApiError as exc:
            # A re-run after a crash that followed the archiving: the announcement was updated
            # before the channel was archived, and an archived channel's messages cannot change.
            if slack_tasks.error_code(exc) != "is_archived":
                raise


def _settle(slack: WebClient, channel_id: str, run_id: str, text: str) -> None:
    """This archive is off: say so where its buttons were and clear its pending marker."""
    with incident_lock(channel_id):
        state = load_incident(channel_id)
        if state.archive_flow_run_id != run_id:
            return  # another archive owns the marker now (or this one was settled already)
        announcement = state.archive_message_ts
        # Clear first: once people read "cancelled", a new /irbot archive must be accepted.
        state.archive_flow_run_id = state.archive_deadline = state.archive_message_ts = None
        state.archive_timer_run_id = state.archive_decided_by = None
        save_incident(state)
    if announcement:
        body, blocks = messages.archive_outcome(text)
        slack_tasks.update_message(slack, channel_id, announcement, body, blocks)


def _deadline_reached(run_id: str) -> dict[str, Any]:
    """Timer mode: resume the waiting archive with "archive", if it is (or soon is) waiting."""
    deadline = datetime.now(UTC) + timedelta(seconds=_TIMER_WAIT_SECONDS)
    while True:
        current = run_state(run_id)
        if current == "PAUSED":
            resume_flow_run(UUID(run_id), run_input={"decision": "archive",
                                                     "decided_by": messages.DEADLINE})
            return {"outcome": "resumed", "run": run_id}
        # Not yet waiting (a re-run on its way to the wait) is worth a short wait; a run that
        # is over, or resumed by someone else, is not.
        if run_is_final(current) or _decision_so_far(run_id) or datetime.now(UTC) > deadline:
            return {"outcome": "nothing_to_resume", "run": run_id}
        time.sleep(2)


def _cancelled_in_prefect(run_ref: str) -> dict[str, Any]:
    """Announcer mode (run by the automation on a Cancelled archive run): the channel stays
    open; say so. A suspended run has no process, so no hook of its own could."""
    run_id = run_ref.removeprefix("prefect.flow-run.")
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(UUID(run_id))
        except (ObjectNotFound, ValueError):
            return {"outcome": "ignored", "run": run_id}
    params = run.parameters or {}
    channel_id = params.get("channel_id")
    if not channel_id or params.get("resume_run_id") or params.get("cancelled_run_id"):
        return {"outcome": "ignored", "run": run_id}  # a timer or an announcer, not an archive
    state = find_incident(str(channel_id))
    if state is None or state.closing or state.archive_flow_run_id != run_id:
        return {"outcome": "ignored", "run": run_id}  # too late, or already settled
    remove_scheduled_run(state.archive_timer_run_id)
    _settle(slack_client(), str(channel_id), run_id, messages.CANCELLED_FROM_PREFECT)
    return {"outcome": "announced", "run": run_id}


def cancellation_trigger() -> Any:
    """The automation that runs announcer mode when an archive run is cancelled in Prefect."""
    from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger

    return DeploymentEventTrigger(
        name="irbot: announce an archive cancelled in Prefect",
        expect={"prefect.flow-run.Cancelled"},
        match_related={"prefect.resource.role": "flow",
                       "prefect.resource.name": deployments.flow_of(deployments.ARCHIVE)},
        parameters={"channel_id": "{{ flow_run.parameters.channel_id }}",
                    "cancelled_run_id": "{{ event.resource.id }}"},
    )
