"""page-team: PagerDuty trigger → note in the channel → comment on the case."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from slack_sdk.errors import SlackApiError

from tasks import deployments, messages, pagerduty
from tasks import jira as jira_tasks
from tasks import slack as slack_tasks
from tasks.clients import jira_client, slack_client
from tasks.errors import IrbotError
from tasks.runs import refuse_crash_loop
from tasks.settings import get_settings
from tasks.state import find_incident


@flow(name=deployments.flow_of(deployments.PAGE))
def page_team(channel_id: str, team: str, message: str = "",
              requested_by: str | None = None) -> dict[str, Any]:
    """Page an on-call team about this incident (or, outside one, about this channel)."""
    refuse_crash_loop(str(flow_run.id), int(flow_run.run_count or 1))
    settings = get_settings()
    slack = slack_client(settings)
    state = find_incident(channel_id)
    scope = state.case_key if state else channel_id
    # A private incident's title stays out of PagerDuty: its summary reaches people outside.
    summary = messages.page_summary(state.case_key if state else None,
                                    state.title if state and not state.private else "",
                                    channel_id, message)
    links = messages.page_links(channel_id, state.case_key if state else None,
                                state.case_url if state else "")
    event = pagerduty.trigger_event(
        dedup=pagerduty.dedup_key(scope, team), summary=summary,
        severity=pagerduty.pd_severity(state.severity if state else None),
        source=f"slack:{channel_id}", links=links,
        details={"requested_by": requested_by or "", "message": message, "team": team})
    try:
        dedup = pagerduty.send_trigger(team, event)
    except Exception as exc:
        reason = (exc.user_message if isinstance(exc, IrbotError) else
                  messages.page_gave_up(type(exc).__name__))
        _tell(slack, channel_id, requested_by, messages.not_paged(team, reason))
        raise
    note = messages.paged(requested_by, team, message, dedup)
    try:
        slack_tasks.post_message(slack, channel_id, note, kind="page")
    except SlackApiError:  # irbot is not in that channel: tell the person who paged
        _tell(slack, channel_id, requested_by, note)
    if state:
        jira_tasks.add_comment(jira_client(settings), state.case_key, messages.page_comment(
            team, slack_tasks.person(slack, requested_by), message, dedup))
    get_run_logger().info("Paged %s with dedup key %s", team, dedup)
    return {"team": team, "dedup_key": dedup}


def _tell(slack: Any, channel_id: str, user: str | None, text: str) -> None:
    if user:
        slack_tasks.tell_user(slack, channel_id, user, text)
