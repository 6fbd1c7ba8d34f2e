"""commander-incident: the state names the commander → topic → notice → Jira comment."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from tasks import deployments, messages, roles
from tasks import slack as slack_tasks
from tasks.clients import jira_client, slack_client
from tasks.runs import refuse_crash_loop
from tasks.settings import get_settings
from tasks.state import IncidentState, change_incident


@flow(name=deployments.flow_of(deployments.COMMANDER))
def commander_incident(channel_id: str, commander: str,
                       requested_by: str | None = None) -> dict[str, str]:
    """Make `commander` (a Slack user id) the incident commander."""
    refuse_crash_loop(str(flow_run.id), int(flow_run.run_count or 1))
    settings = get_settings()
    slack = slack_client(settings)

    def name_commander(state: IncidentState) -> None:
        state.commander = commander

    state = change_incident(channel_id, name_commander)
    roles.invite_commander(slack, state, commander)
    roles.refresh_topic(slack, state)
    roles.tell_and_record(
        slack, jira_client(settings), state, "commander",
        messages.commander_notice(commander, requested_by),
        messages.commander_comment(slack_tasks.person(slack, commander),
                                   slack_tasks.person(slack, requested_by)))
    return {"case_key": state.case_key, "commander": commander}
