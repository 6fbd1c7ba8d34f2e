"""create-incident: Jira case → channels → state → description → invitations → record → welcome."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jira import JIRA
from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tasks import deployments, messages
from tasks import jira as jira_tasks
from tasks import slack as slack_tasks
from tasks.clients import jira_client, slack_client
from tasks.errors import ChannelNameTaken, IrbotError, VendorRefused
from tasks.reminders import schedule_reminder
from tasks.runs import refuse_crash_loop
from tasks.settings import get_settings
from tasks.state import (
    IncidentState,
    create_lock,
    find_incident,
    find_incident_by_channel_name,
    incident_lock,
    save_incident,
)


def open_channel(slack: WebClient, name: str, case_url: str,
                 private: bool = False) -> tuple[dict[str, Any], bool]:
    """Create the channel, or reuse it when a previous attempt of ours already made it; and
    whether this call made it."""
    try:
        return slack_tasks.create_channel(slack, name, private), True
    except SlackApiError as exc:
        if slack_tasks.error_code(exc) != "name_taken":
            raise VendorRefused(messages.channel_not_created(
                name, slack_tasks.describe_slack_error(exc))) from exc
    known = find_incident_by_channel_name(name)
    if known is not None:  # an incident of ours already lives there
        own_id = known.channel_id if known.channel_name == name else known.exec_channel_id
        return {"id": own_id, "name": name, "created": int(known.created_at.timestamp())}, False
    try:
        existing = slack_tasks.find_channel_by_name(slack, name)
    except SlackApiError:
        existing = None  # cannot list channels (scope, method): treat the name as not ours
    me = slack_tasks.bot_identity(slack)
    described = existing and case_url in (
        str((existing.get("topic") or {}).get("value", ""))
        + str((existing.get("purpose") or {}).get("value", "")))
    if existing and (existing.get("creator") == me["user_id"] or described):
        if existing.get("is_archived"):
            raise ChannelNameTaken(messages.channel_archived_under_name(name))
        return existing, False
    raise ChannelNameTaken(messages.channel_not_ours(name))


@flow(name=deployments.flow_of(deployments.CREATE))
def create_incident(
    requested_by: str,
    invitees: list[str],
    title: str = "",
    severity: str = "",
    existing_case: str | None = None,
    exec_channel: bool = False,
    exec_invitees: list[str] | None = None,
    origin_channel: str | None = None,
    request_id: str = "",
    commander: str = "",
    private: bool = False,
) -> dict[str, str]:
    """Open an incident: its Jira case, channel(s), state and people. `commander` "" = the
    requester; `private` makes both channels private and keeps the title out of public view."""
    refuse_crash_loop(str(flow_run.id), int(flow_run.run_count or 1))
    settings = get_settings()
    slack = slack_client(settings)
    jira = jira_client(settings)
    log = get_run_logger()
    try:
        requester = slack_tasks.person(slack, requested_by)
        if existing_case:
            key = jira_tasks.check_case(jira, existing_case)
        else:
            fields = jira_tasks.issue_fields(settings.JIRA_PROJECT, settings.JIRA_ISSUE_TYPE,
                                             title, severity, requester, request_id)
            key = jira_tasks.create_case(jira, fields)
        case_url = settings.jira_browse_url(key)
        description = messages.channel_description(key, case_url)

        channel, fresh = open_channel(slack, messages.incident_channel_name(key), case_url,
                                      private)
        created = [(str(channel["name"]), _created_at(channel))]
        exec_ch: dict[str, Any] | None = None
        if exec_channel:
            exec_ch, _ = open_channel(slack, messages.exec_channel_name(key), case_url, private)
            created.append((str(exec_ch["name"]), _created_at(exec_ch)))

        # Save before the channel looks ready (described) and before anyone is invited: a
        # command typed there from then on finds the incident. From the description to the
        # requester told, only Slack and Jira calls remain.
        new = IncidentState(
            case_key=key, case_url=case_url, title=title, severity=severity,
            channel_id=channel["id"], channel_name=channel["name"], created_by=requested_by,
            created_at=datetime.now(UTC), commander=commander, private=private)
        create_lock(channel["id"])
        if fresh:  # a channel made just now: no state of its own yet, nobody else knows its id
            _save_state(new, exec_ch)
        else:
            with incident_lock(channel["id"]):
                # State left by an earlier attempt for the channel (a re-submission or re-run).
                _save_state(find_incident(channel["id"]) or new, exec_ch)
        slack_tasks.set_description(slack, channel["id"], description)
        if exec_ch is not None:
            slack_tasks.set_description(slack, exec_ch["id"], description)

        skipped = slack_tasks.invite_users(slack, channel["id"],
                                           [requested_by, commander, *invitees])
        if exec_ch is not None:
            skipped |= slack_tasks.invite_users(
                slack, exec_ch["id"], [requested_by, *(exec_invitees or [])])

        recorded = _record_channels(jira, key,
                                    messages.channels_comment(created, requester, private),
                                    messages.channel_line(str(channel["name"])))
        text, blocks = messages.welcome_message(
            key, case_url, title, severity, requested_by,
            messages.duration_text(settings.IRBOT_ARCHIVE_DELAY_SECONDS), commander, private)
        slack_tasks.post_message(slack, channel["id"], text, blocks)
        slack_tasks.tell_user(slack, origin_channel, requested_by, messages.incident_ready(
            key, channel["id"], exec_ch["id"] if exec_ch else None, skipped, private)
            + recorded)
        _first_reminder(channel["id"])  # after telling: the requester should not wait for it
        log.info("Incident %s ready in #%s", key, channel["name"])
        return {"case_key": key, "channel_id": str(channel["id"]),
                "exec_channel_id": str(exec_ch["id"]) if exec_ch else ""}
    except IrbotError as exc:
        _report_failure(slack, origin_channel, requested_by, exc.user_message)
        raise
    except Exception:
        _report_failure(slack, origin_channel, requested_by, messages.UNEXPECTED)
        raise


def _save_state(state: IncidentState, exec_ch: dict[str, Any] | None) -> None:
    if exec_ch is not None:
        state.exec_channel_id, state.exec_channel_name = exec_ch["id"], exec_ch["name"]
    save_incident(state)


def _record_channels(jira: JIRA, key: str, body: str, marker: str) -> str:
    """Comment the channels on the case. The incident is open whatever Jira says, so a refusal
    is reported to the requester (and in the run's log), not turned into a failed incident."""
    try:
        jira_tasks.add_comment(jira, key, body, marker=marker)
    except Exception as exc:
        get_run_logger().error("Jira refused the channels comment on %s: %s", key, exc)
        return messages.channels_comment_refused(key)
    return ""


def _first_reminder(channel_id: str) -> None:
    """Schedule the first update reminder. The incident is open whatever Prefect says, so a
    failure is logged on the run (the next update schedules again), not a failed incident."""
    try:
        schedule_reminder(channel_id)
    except Exception:
        get_run_logger().exception("Could not schedule the update reminder of %s", channel_id)


def _created_at(channel: dict[str, Any]) -> datetime:
    created = channel.get("created")
    return datetime.fromtimestamp(int(created), UTC) if created else datetime.now(UTC)


def _report_failure(slack: WebClient, channel: str | None, user: str, reason: str) -> None:
    """Tell the requester what failed and where to look; never mask the original error."""
    try:
        slack_tasks.tell_user(slack, channel, user,
                              messages.incident_failed(reason, flow_run.ui_url or ""))
    except Exception:
        get_run_logger().exception("Could not tell %s that the incident failed", user)
