"""What the webhook answers responders (pure text builders)."""

from __future__ import annotations

from datetime import datetime

from tasks.messages import slack_time, status_label
from tasks.severity import SEVERITY_LEVELS
from tasks.state import IncidentState, commander_of
from webhook.commands import SUBCOMMANDS, USAGE, PersonProblem

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


_VERBS = {"backup": "back up", "archive": "archive", "status": "show",
          "commander": "command", "severity": "change the severity of", "update": "update",
          "handover": "hand over"}


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
        f"Commander: <@{commander_of(state)}>",
        (f"Latest update: {status_label(state.update_status)}"
         + (f", {slack_time(state.last_update_at)}" if state.last_update_at else "")
         if state.update_status else "Latest update: none yet (`/irbot update`)"),
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


# Running the incident: commander, severity, update, handover.

PERSON_HINTS = {
    PersonProblem.BARE_NAME: ("`{typed}` was typed, not picked: irbot cannot tell who that is. "
                              "Type `@` and pick the person from Slack's list, then send."),
    PersonProblem.NOT_A_PERSON: ("`{typed}` does not name a Slack user. Type `@` and pick the "
                                 "person from Slack's list (or give no name to take command "
                                 "yourself)."),
    PersonProblem.MORE_THAN_ONE: "Name one person: `/irbot commander @person`.",
}
UPDATE_FORM_TITLE = "Status update"
HANDOVER_FORM_TITLE = "Handover"
SUMMARY_REQUIRED = "Write what changed: the summary is what everyone will read."
NEXT_COMMANDER_REQUIRED = "Choose who takes command next."
HANDOVER_EMPTY = "Write at least what is known, so the next commander can pick it up."
STATUS_REQUIRED = "Choose a status."
ROLE_FORM_UNREADABLE = ("Slack sent this form without saying who submitted it or where it was "
                        "opened, so irbot changed nothing. Please close it and try again.")


def person_refused(problem: PersonProblem, typed: str) -> str:
    return PERSON_HINTS[problem].format(typed=typed.strip()[:40])


def unknown_severity(typed: str) -> str:
    asked = f"`{typed.strip()[:40]}` is not a severity. " if typed.strip() else ""
    return (f"{asked}Choose one of {', '.join(f'`{s}`' for s in SEVERITY_LEVELS)}: "
            "`/irbot severity SEV-2`.")


def commander_requested(commander: str, me: str) -> str:
    who = "you" if commander == me else f"<@{commander}>"
    return f"Making {who} the incident commander… I'll tell the channel."


def severity_requested(severity: str) -> str:
    return f"Changing the severity to {severity}… I'll tell the channel."


UPDATE_REQUESTED = "Posting your update… (the executive channel and Jira get it too)."
HANDOVER_REQUESTED = "Posting your handover… I'll tell the channel."


def form_not_opened_for(what: str, slack_error: object) -> str:
    return f"Could not open the {what} form (`{slack_error}`). Please run `/irbot {what}` again."


# --- Containment (`/irbot contain`, `/irbot lift` and the card's buttons) --------------------

CONTAIN_NOT_CONFIGURED = ("Containment is not configured: irbot has no CrowdStrike Falcon API "
                          "client (FALCON_CLIENT_ID and FALCON_CLIENT_SECRET). Whoever runs irbot "
                          "can set them; nothing was looked up.")
HOST_BUTTON_UNREADABLE = ("This button does not name a host irbot can act on, so your click "
                          "changed nothing.")


def looking_up(hostname: str) -> str:
    return (f"Looking `{hostname}` up in CrowdStrike Falcon… I'll post what I find in this "
            "channel, with buttons to confirm.")


def not_allowed_to_confirm(commander: str, verb: str) -> str:
    """Why a click on Contain / Lift did nothing."""
    return (f"Only the incident commander (<@{commander}>) or people listed in "
            f"IRBOT_CONTAIN_ALLOWED can confirm this {verb}, so your click changed nothing. "
            "Ask the commander to press it.")


def not_allowed_to_cancel(commander: str) -> str:
    return (f"Only whoever asked, the incident commander (<@{commander}>) or people listed in "
            "IRBOT_CONTAIN_ALLOWED can cancel this, so your click changed nothing.")


def host_already_decided(decided_by: str, decision: str) -> str:
    what = "cancelled" if decision == "cancel" else "confirmed"
    return f"<@{decided_by}> already {what} this; your click changed nothing."
