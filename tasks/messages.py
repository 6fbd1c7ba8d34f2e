"""Texts and Block Kit for what flows post to Slack and Jira (pure builders)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

ARCHIVE_CANCEL_ACTION = "irbot_archive_cancel"
ARCHIVE_NOW_ACTION = "irbot_archive_now"
# Our own status notices carry this metadata so backups can leave them out of the transcript.
NOTICE_EVENT_TYPE = "irbot_notice"

COMMANDS_HELP = (
    "`/irbot backup` save this channel's messages to the Jira case · "
    "`/irbot page <team> [message]` page an on-call team · "
    "`/irbot status` incident summary · `/irbot archive` archive in "
)


def incident_channel_name(case_key: str) -> str:
    """The contract: `incident_channel_<case id lowercased>`."""
    return f"incident_channel_{case_key.lower()}"


def exec_channel_name(case_key: str) -> str:
    return incident_channel_name(case_key) + "_exec"


def channel_description(case_key: str, case_url: str) -> str:
    """Topic/purpose text: plain, no formatting, holds the browse URL."""
    return f"Jira {case_key}: {case_url}"


def count(n: int, noun: str) -> str:
    """'1 new message', '3 new messages'."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def notice_key(run_id: str, kind: str, text: str) -> str:
    """A post's identity across retries and re-runs of the same flow run."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{run_id}:{kind}:{digest}"


def notice_metadata(kind: str, key: str = "") -> dict[str, Any]:
    """Slack message metadata marking an irbot post (what it is, and its identity)."""
    return {"event_type": NOTICE_EVENT_TYPE, "event_payload": {"kind": kind, "key": key}}


def slack_time(moment: datetime) -> str:
    """A time each reader sees in their own timezone, with a UTC fallback."""
    epoch = int(moment.timestamp())
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{fallback}>"


def welcome_message(case_key: str, case_url: str, title: str, severity: str, creator: str,
                    archive_delay_text: str) -> tuple[str, list[dict[str, Any]]]:
    """The first message in an incident channel."""
    headline = f"Incident channel for <{case_url}|{case_key}>"
    if title:
        headline += f": {title}"
    details = f"Opened by <@{creator}>" + (f" · severity *{severity}*" if severity else "")
    commands = COMMANDS_HELP + archive_delay_text + " unless cancelled"
    text = f"{headline}. {details}."
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*\n{details}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": commands}]},
    ]
    return text, blocks


def channels_comment(channels: list[tuple[str, datetime]], requester_name: str) -> str:
    """Jira comment recording the incident's Slack channels."""
    lines = [f"Slack incident channels opened by {requester_name} via irbot:"]
    lines += [f"* #{name} (created {when.strftime('%Y-%m-%d %H:%M:%S UTC')})"
              for name, when in channels]
    return "\n".join(lines)


def duration_text(seconds: int) -> str:
    """'1 hour', '90 seconds', '2 minutes'."""
    if seconds % 3600 == 0 and seconds:
        return count(seconds // 3600, "hour")
    if seconds % 60 == 0 and seconds:
        return count(seconds // 60, "minute")
    return count(seconds, "second")


def archive_announcement(requested_by: str | None, deadline: datetime,
                         flow_run_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The pending-archive message with its two buttons; the buttons carry the run id."""
    when = slack_time(deadline)
    who = f"<@{requested_by}>" if requested_by else "An operator (from Prefect)"
    text = (f"{who} asked to archive this channel. It will be archived {when} "
            "unless someone cancels.")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": "irbot_archive", "elements": [
            {"type": "button", "action_id": ARCHIVE_CANCEL_ACTION, "style": "danger",
             "text": {"type": "plain_text", "text": "Cancel archive"}, "value": flow_run_id},
            {"type": "button", "action_id": ARCHIVE_NOW_ACTION,
             "text": {"type": "plain_text", "text": "Archive now"}, "value": flow_run_id},
        ]},
    ]
    return text, blocks


def archive_outcome(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The announcement once decided: same place, no buttons."""
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def is_irbot_notice(message: dict[str, Any]) -> bool:
    """True for our own status notices (marked with metadata)."""
    return bool((message.get("metadata") or {}).get("event_type") == NOTICE_EVENT_TYPE)


def is_from_irbot(message: dict[str, Any], bot: dict[str, str]) -> bool:
    """True for anything irbot posted itself: it is all recorded as Jira comments already,
    and leaving it out keeps "nothing new" true after a backup's own notices."""
    if is_irbot_notice(message):
        return True
    if bot.get("bot_id") and message.get("bot_id") == bot["bot_id"]:
        return True
    return bool(bot.get("user_id")) and message.get("user") == bot["user_id"]


def backup_details(replies: int, edited: int, deleted: int, files: int,
                   masked: int | None) -> str:
    """The second line of a backup comment: what changed besides new rows (counts only)."""
    parts = [f"{count(replies, 'thread reply')} among them".replace("replys", "replies"),
             f"{edited} edited", f"{deleted} deleted", f"{count(files, 'file')} attached"]
    if masked is not None:  # None: masking is off (IRBOT_REDACT_SECRETS=false)
        parts.append(f"{count(masked, 'secret')} masked")
    return "; ".join(parts) + "."


def backup_comment(new_rows: int, total_rows: int, filename: str, sha256: str,
                   requested_by: str | None, details: str = "") -> str:
    """Jira comment recording one backup."""
    who = f" (requested by {requested_by})" if requested_by else ""
    return (f"irbot backup{who}: {new_rows} new messages, {total_rows} in total.\n"
            + (f"{details}\n" if details else "")
            + f"File: {filename}\nSHA-256: {sha256}")


def archive_comment(channels: str, requested_by: str, decided_by: str, total: int) -> str:
    """Jira comment recording the end of the incident's channels."""
    return (f"irbot archived the incident's Slack channels ({channels}) at the request of "
            f"{requested_by} (decided by {decided_by}). The transcript holds {total} messages.")
