"""severity-incident: the state's severity → topic → Jira priority → notice → Jira comment."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from tasks import deployments, messages, roles
from tasks import jira as jira_tasks
from tasks import slack as slack_tasks
from tasks.clients import jira_client, slack_client
from tasks.errors import VendorRefused
from tasks.reminders import schedule_reminder
from tasks.runs import refuse_crash_loop
from tasks.settings import get_settings
from tasks.state import IncidentState, change_incident


@flow(name=deployments.flow_of(deployments.SEVERITY))
def severity_incident(channel_id: str, severity: str,
                      requested_by: str | None = None) -> dict[str, str]:
    """Change the incident's severity (`SEV-1`..`SEV-4`, already checked by the webhook)."""
    refuse_crash_loop(str(flow_run.id), int(flow_run.run_count or 1))
    settings = get_settings()
    slack, jira = slack_client(settings), jira_client(settings)
    before: list[str] = []

    def set_severity(state: IncidentState) -> None:
        before.append(state.severity)
        state.severity = severity

    state = change_incident(channel_id, set_severity)
    roles.refresh_topic(slack, state)
    priority = settings.jira_priority(severity)
    if priority:
        try:
            jira_tasks.set_priority(jira, state.case_key, priority)
        except VendorRefused as exc:
            get_run_logger().error("%s", exc)
            slack_tasks.post_message(slack, channel_id, messages.priority_refused(
                priority, state.case_key, str(exc)), kind="severity")
            priority = None
    schedule_reminder(channel_id)  # the reminder's period depends on the severity
    roles.tell_and_record(
        slack, jira, state, "severity",
        messages.severity_notice(before[0], severity, requested_by),
        messages.severity_comment(before[0], severity, slack_tasks.person(slack, requested_by),
                                  priority))
    return {"case_key": state.case_key, "severity": severity, "priority": priority or ""}
