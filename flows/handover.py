"""handover-incident: the state's commander → one message in the channel → Jira → topic."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow
from prefect.runtime import flow_run

from tasks import deployments, messages, roles
from tasks import slack as slack_tasks
from tasks.clients import jira_client, slack_client
from tasks.reminders import schedule_reminder
from tasks.runs import refuse_crash_loop
from tasks.settings import get_settings
from tasks.state import IncidentState, change_incident, commander_of


@flow(name=deployments.flow_of(deployments.HANDOVER))
def handover_incident(channel_id: str, next_commander: str, known: str = "",
                      in_progress: str = "", actions: str = "",
                      requested_by: str | None = None) -> dict[str, str]:
    """Hand the incident to `next_commander` with what they need to know; counts as an
    update (reminders measure quiet from it). The texts arrive masked from the webhook."""
    refuse_crash_loop(str(flow_run.id), int(flow_run.run_count or 1))
    settings = get_settings()
    slack = slack_client(settings)
    before: list[str] = []

    def hand_over(state: IncidentState) -> None:
        before.append(commander_of(state))
        state.commander = next_commander
        state.last_update_at = datetime.now(UTC)

    state = change_incident(channel_id, hand_over)
    schedule_reminder(channel_id)  # a handover is an update: quiet counts from it
    old = before[0]
    parts = {"known": known, "in_progress": in_progress, "actions": actions}
    roles.invite_commander(slack, state, next_commander)
    roles.tell_and_record(
        slack, jira_client(settings), state, "handover",
        messages.handover_message(parts, old, next_commander, requested_by),
        messages.handover_comment(parts, slack_tasks.person(slack, old),
                                  slack_tasks.person(slack, next_commander),
                                  slack_tasks.person(slack, requested_by)))
    roles.refresh_topic(slack, state)
    return {"case_key": state.case_key, "commander": next_commander}
