"""update-incident: the state's status → the channel → the executive channel → Jira."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from slack_sdk.errors import SlackApiError

from tasks import deployments, messages, roles
from tasks import slack as slack_tasks
from tasks.clients import jira_client, slack_client
from tasks.reminders import schedule_reminder
from tasks.runs import refuse_crash_loop
from tasks.settings import get_settings
from tasks.state import IncidentState, change_incident

DEFAULT_STATUS = messages.UPDATE_STATUSES[0]  # investigating, until someone says otherwise


@flow(name=deployments.flow_of(deployments.UPDATE))
def update_incident(channel_id: str, summary: str, status: str = "",
                    requested_by: str | None = None) -> dict[str, str]:
    """Post a status update (`status` "" keeps the current one); `summary` arrives plain and
    masked (the webhook did that before it became a parameter)."""
    refuse_crash_loop(str(flow_run.id), int(flow_run.run_count or 1))
    if status and status not in messages.UPDATE_STATUSES:
        raise ValueError(f"status must be one of {', '.join(messages.UPDATE_STATUSES)}")
    settings = get_settings()
    slack = slack_client(settings)

    def record_update(state: IncidentState) -> None:
        state.update_status = status or state.update_status or DEFAULT_STATUS
        state.last_update_at = datetime.now(UTC)

    state = change_incident(channel_id, record_update)
    schedule_reminder(channel_id)  # quiet now counts from this update
    posted = state.update_status
    if state.exec_channel_id:
        # Executives follow the incident from their own channel: the update goes there too.
        try:
            text, blocks = messages.status_update(posted, summary, requested_by,
                                                  state.case_key, channel_id)
            slack_tasks.post_message(slack, state.exec_channel_id, text, blocks,
                                     kind="update-exec")
        except SlackApiError:
            get_run_logger().exception("Could not mirror the update to %s",
                                       state.exec_channel_id)
    roles.tell_and_record(
        slack, jira_client(settings), state, "update",
        messages.status_update(posted, summary, requested_by),
        messages.update_comment(posted, summary, slack_tasks.person(slack, requested_by)))
    return {"case_key": state.case_key, "status": posted}
