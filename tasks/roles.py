"""What every change to how the incident is run shares: the topic, the notice, the record."""

from __future__ import annotations

from typing import Any

from jira import JIRA
from slack_sdk import WebClient

from tasks import jira as jira_tasks
from tasks import messages
from tasks import slack as slack_tasks
from tasks.state import IncidentState, commander_of


def refresh_topic(slack: WebClient, state: IncidentState) -> None:
    """The topic shows the case link, the severity and the commander (by display name: a
    topic has no formatting, so a mention would show as its raw id)."""
    commander = commander_of(state)
    name = slack_tasks.user_names(slack, [commander]).get(commander, commander)
    slack_tasks.set_topic(slack, state.channel_id, messages.incident_topic(
        state.case_key, state.case_url, state.severity, name))


def tell_and_record(slack: WebClient, jira: JIRA, state: IncidentState, kind: str,
                    notice: str | tuple[str, list[dict[str, Any]]], comment: str) -> None:
    """Post the notice in the incident channel, then record the change on the Jira case."""
    text, blocks = (notice, None) if isinstance(notice, str) else notice
    slack_tasks.post_message(slack, state.channel_id, text, blocks, kind=kind)
    jira_tasks.add_comment(jira, state.case_key, comment)


def invite_commander(slack: WebClient, state: IncidentState, user: str) -> None:
    """A commander must be able to read the channel; one who is already in it is fine."""
    slack_tasks.invite_users(slack, state.channel_id, [user])
