"""What the webhook answers responders (pure text builders)."""

from __future__ import annotations

from datetime import datetime

from tasks.messages import slack_time
from tasks.state import IncidentState
from webhook.commands import SUBCOMMANDS, USAGE

NOT_AN_INCIDENT = ("This channel is not an open incident, so there is nothing to {what} here. "
                   "Use `/irbot create` to open one.")
PREFECT_DOWN = ("irbot could not start the {what} right now (its workflow service did not "
                "answer). Nothing was changed; please try again in a minute.")

# Answers to requests Slack sent without what irbot needs (the guard let their shape through).
FORM_UNREADABLE = ("Slack sent this form without saying who submitted it or which form it is, so "
                   "irbot created nothing. Please close it and run `/irbot create` again.")
BUTTON_UNREADABLE = ("This button does not name an archive irbot can find, so your click "
                     "changed nothing.")

BACKUP_REQUESTED = "Backup requested: I'll post in the channel when it is saved to Jira."
ARCHIVE_REQUESTED = ("Archive requested: I'll announce it in the channel, with a Cancel button "
                     "for anyone who needs more time.")
SNOOZE_UNREADABLE = ("This button does not name a reminder irbot can find, so your click "
                     "changed nothing.")
SNOOZING = ("Snoozing the update reminder: the next one comes a full period from now, unless "
            "an update is posted first.")
ALREADY_DECIDED = "This archive was already decided (or is over); your click changed nothing."


def prefect_down(what: str, error_id: str = "") -> str:
    """Prefect did not take the request: nothing happened (the id finds the log line)."""
    return PREFECT_DOWN.format(what=what) + (f" (error id {error_id})" if error_id else "")


def paging(team: str) -> str:
    return f"Paging `{team}`…"


def form_not_opened(slack_error: object) -> str:
    return (f"Could not open the incident form (`{slack_error}`). Please run `/irbot create` "
            "again.")


def creating(existing_case: str | None) -> str:
    return (f"Creating your incident ({existing_case or 'a new Jira case'})… I'll tell you when "
            "its channel is ready.")


_VERBS = {"backup": "back up", "archive": "archive", "status": "show"}


def closed_or_unknown(channel_name: str, command: str, closing: bool = False) -> str:
    """Why there is no incident here, as precisely as we can tell."""
    what = _VERBS.get(command, command)
    if closing or channel_name.startswith("incident_channel_"):
        return (f"This incident is closed: its channel was archived, so there is nothing to "
                f"{what}. The transcript is on the Jira case.")
    return NOT_AN_INCIDENT.format(what=what)


def help_text(problem: str = "") -> str:
    """Every subcommand, one line each."""
    lines = [problem] if problem else []
    lines.append("*irbot* commands:")
    lines += [f"• `/irbot {name}`" + (f" `{USAGE[name]}`" if name in USAGE else "")
              + f" — {about}" for name, about in SUBCOMMANDS.items()]
    return "\n".join(lines)


def unknown_team(team: str, teams: list[str]) -> str:
    """Answer to a page for a team we have no routing key for."""
    known = ", ".join(f"`{t}`" for t in teams) if teams else "none (set PAGERDUTY_ROUTING_KEYS)"
    asked = f"No PagerDuty team called `{team[:40]}`. " if team else ""
    return f"{asked}Teams you can page: {known}. Usage: `/irbot page <team> [message]`."


def archive_pending(deadline: datetime | None) -> str:
    """Answer to /irbot archive while one is already pending."""
    when = slack_time(deadline) if deadline else "soon"
    return (f"An archive is already pending: this channel will be archived {when} unless "
            "someone presses Cancel on the announcement.")


def status_text(state: IncidentState, archive_pending_deadline: datetime | None) -> str:
    """The incident at a glance."""
    lines = [
        f"*<{state.case_url}|{state.case_key}>*" + (f": {state.title}" if state.title else ""),
        f"Severity: {state.severity or 'not set'}",
        f"Opened by <@{state.created_by}> {slack_time(state.created_at)}",
    ]
    if state.exec_channel_id:
        lines.append(f"Executive channel: <#{state.exec_channel_id}>")
    if state.last_backup_at:
        lines.append(f"Last backup: {slack_time(state.last_backup_at)}, "
                     f"{state.message_count} messages in the transcript")
    else:
        lines.append("Last backup: none yet (`/irbot backup`)")
    if archive_pending_deadline:
        lines.append(f"Archive pending: {slack_time(archive_pending_deadline)}")
    return "\n".join(lines)
