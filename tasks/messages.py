"""Texts and Block Kit for what flows post to Slack and Jira (pure builders)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

ARCHIVE_CANCEL_ACTION = "irbot_archive_cancel"
ARCHIVE_NOW_ACTION = "irbot_archive_now"
REMINDER_SNOOZE_ACTION = "irbot_reminder_snooze"
# Our own status notices carry this metadata so backups can leave them out of the transcript.
NOTICE_EVENT_TYPE = "irbot_notice"
# Who acted when no Slack user did: a run started from Prefect (the UI, the CLI, an automation).
OPERATOR = "an operator (from Prefect)"
AUTOMATIC = "the automatic backup"  # who requested a scheduled backup, in its Jira comment
DEADLINE = "deadline"  # `decided_by` when the archive's timer, not a person, resumed the wait

COMMANDS_HELP = (
    "`/irbot backup` save this channel's messages to the Jira case · "
    "`/irbot page <team> [message]` page an on-call team · "
    "`/irbot commander`, `severity`, `update`, `handover` run the incident · "
    "`/irbot contain <host>` network-contain a device · "
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


def who(user: str | None) -> str:
    """How Slack names who asked or decided: a mention for a Slack user id, the deadline,
    an operator, or the name given in the Prefect UI as it is (never a bogus mention)."""
    if not user:
        return OPERATOR
    if user == DEADLINE:
        return "the deadline"
    return f"<@{user}>" if user[:1] in "UW" else user


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def slack_time(moment: datetime) -> str:
    """A time each reader sees in their own timezone, with a UTC fallback."""
    epoch = int(moment.timestamp())
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{fallback}>"


def welcome_message(case_key: str, case_url: str, title: str, severity: str, creator: str,
                    archive_delay_text: str, commander: str = "",
                    private: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """The first message in an incident channel (`commander` "" = the creator)."""
    headline = (f"{'Private incident' if private else 'Incident'} channel for "
                f"<{case_url}|{case_key}>")
    if title:
        headline += f": {title}"
    details = (f"Opened by <@{creator}> · commander <@{commander or creator}>"
               + (f" · severity *{severity}*" if severity else ""))
    if private:
        details += " · security-sensitive: keep its title and details out of public channels"
    commands = COMMANDS_HELP + archive_delay_text + " unless cancelled"
    text = f"{headline}. {details}."
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*\n{details}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": commands}]},
    ]
    return text, blocks


PRIVATE_MARK = "Private incident (security-sensitive): its Slack channels are private."


def channels_comment(channels: list[tuple[str, datetime]], requester_name: str,
                     private: bool = False) -> str:
    """Jira comment recording the incident's Slack channels (marked when they are private)."""
    lines = [PRIVATE_MARK] if private else []
    lines.append(f"Slack incident channels opened by {requester_name} via irbot:")
    lines += [f"{channel_line(name)} {when.strftime('%Y-%m-%d %H:%M:%S UTC')})"
              for name, when in channels]
    return "\n".join(lines)


def channel_line(name: str) -> str:
    """How a channel's line in the channels comment starts: a re-run finds its comment by it
    (the time it gives can differ: a reused channel's comes from the state)."""
    return f"* #{name} (created"


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
    text = (f"{_sentence(who(requested_by))} asked to archive this channel. It will be archived "
            f"{when} unless someone cancels.")
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
    by = f" (requested by {requested_by})" if requested_by else ""
    return (f"irbot backup{by}: {new_rows} new messages, {total_rows} in total.\n"
            + (f"{details}\n" if details else "")
            + f"File: {filename}\nSHA-256: {sha256}")


def archive_comment(channels: str, requested_by: str, decided_by: str, total: int) -> str:
    """Jira comment recording the end of the incident's channels."""
    return (f"irbot archived the incident's Slack channels ({channels}) at the request of "
            f"{requested_by} (decided by {decided_by}). The transcript holds {total} messages.")


# create-incident

UNEXPECTED = "Something unexpected went wrong; the flow run shows the details."


def channel_not_created(name: str, slack_refusal: str) -> str:
    return f"Could not create #{name}. {slack_refusal}"


def channel_archived_under_name(name: str) -> str:
    return f"#{name} exists but is archived. Unarchive it in Slack, then run /irbot create again."


def channel_not_ours(name: str) -> str:
    return (f"#{name} already exists and was not created by irbot. Rename or archive that "
            "channel, or use a different case key.")


def channels_comment_refused(case_key: str) -> str:
    """Appended to the ready message: the incident is open, the Jira record is not."""
    return (f" Note: Jira refused the comment recording the channels on {case_key}; please add "
            "it by hand.")


def incident_ready(case_key: str, channel_id: str, exec_channel_id: str | None,
                   skipped: dict[str, str], private: bool = False) -> str:
    """To the requester: where the incident lives, and who could not be invited (and why).
    Never the title: this is seen where the command was typed, maybe a public channel."""
    text = f"{'Private incident' if private else 'Incident'} {case_key} is ready: <#{channel_id}>"
    if exec_channel_id is not None:
        text += f" (executive channel <#{exec_channel_id}>)"
    if skipped:
        names = ", ".join(f"<@{user}> ({reason.replace('_', ' ')})"
                          for user, reason in skipped.items())
        text += f". Not invited: {names}"
    return text + "."


def incident_failed(reason: str, run_url: str) -> str:
    return f"Could not create the incident. {reason}" + (f" Run: {run_url}" if run_url else "")


# backup-incident

NOTHING_NEW = "Nothing new since the last backup; Jira is unchanged."


def backup_requested(case_key: str, requested_by: str | None) -> str:
    return f"Backup to {case_key} requested by {who(requested_by)}…"


def backup_failed(reason: str, run_url: str) -> str:
    return (f"Backup failed ({reason}). Nothing was lost: the next backup starts from the same "
            f"point. Details: {run_url or 'the Prefect UI'}")


def backup_saved(case_key: str, new: int, in_threads: int, edited: int, deleted: int,
                 total: int) -> str:
    return (f"Backup saved to {case_key}: {count(new, 'new message')} ({in_threads} in "
            f"threads), {edited} edited, {deleted} deleted; {total} in total.")


def final_check_comment(summary: str) -> str:
    """Jira comment of the archive's completeness check (`summary` says what was compared)."""
    return f"irbot final backup: {summary}"


def transcript_incomplete(missing: int) -> str:
    return (f"the transcript lacks {missing} of the channel's messages or files; see the Jira "
            "case")


# archive-incident

ARCHIVE_ALREADY_PENDING = ("An archive is already pending for this channel; see the "
                           "announcement above.")
CANCELLED_FROM_PREFECT = "The pending archive was cancelled from Prefect. The channel stays open."


def archive_cancelled(decided_by: str) -> str:
    return f"Archive cancelled by {who(decided_by)}. The channel stays open."


def archiving_now(decided_by: str) -> str:
    return f"Archiving now ({who(decided_by)}): taking a final backup first…"


def final_backup_failed(run_url: str) -> str:
    return ("The final backup failed, so this channel was *not* archived. Nothing was deleted. "
            f"Details: {run_url or 'the Prefect UI'}")


def archived(case_key: str, requested_by: str | None) -> str:
    return (f"Final backup saved to {case_key}. This channel is archived at the request of "
            f"{who(requested_by)}.")


def archive_refused(reason: str) -> str:
    return (f"The final backup is saved, but the channel could not be archived ({reason}). The "
            "incident stays open: fix the cause, then `/irbot archive` again.")


# page-team

def page_summary(case_key: str | None, title: str, channel_id: str, message: str) -> str:
    """PagerDuty's summary line: the case (and its title), else the Slack channel."""
    subject = (f"{case_key}: {title}" if title else case_key) if case_key else (
        f"Slack channel {channel_id}")
    return f"[irbot] {subject}" + (f" — {message}" if message else "")


def page_links(channel_id: str, case_key: str | None, case_url: str) -> list[dict[str, str]]:
    """The links on the PagerDuty incident: the channel, and the case when there is one."""
    links = [{"href": f"https://slack.com/app_redirect?channel={channel_id}",
              "text": "Slack channel"}]
    if case_key:
        links.append({"href": case_url, "text": f"Jira {case_key}"})
    return links


def page_gave_up(error: str) -> str:
    """The reason of a page PagerDuty never accepted (`error`: the exception's type name)."""
    return f"PagerDuty did not accept the page after several tries ({error})"


def not_paged(team: str, reason: str) -> str:
    return f"`{team}` was NOT paged: {reason}. Try again, or reach them another way."


def paged(requested_by: str | None, team: str, message: str, dedup: str) -> str:
    """The note in the channel."""
    return (f"{_sentence(who(requested_by))} paged *{team}*" + (f": {message}" if message else "")
            + f" (dedup key `{dedup}`)")


def page_comment(team: str, requester: str, message: str, dedup: str) -> str:
    """The Jira record (`requester`: a name people can read months later)."""
    return (f"PagerDuty: team {team} paged by {requester}" + (f": {message}" if message else "")
            + f" (dedup key {dedup})")


# running the incident: commander, severity, updates, handover

UPDATE_STATUSES = ("investigating", "identified", "monitoring", "resolved")
_TOPIC_LIMIT = 250  # Slack's limit for a topic; plain text, no formatting


def slack_escape(text: str) -> str:
    """Responder text shown as typed in Slack (no accidental links or mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def incident_topic(case_key: str, case_url: str, severity: str, commander_name: str) -> str:
    """The channel topic: the case URL first (it must survive), then severity and commander."""
    head = channel_description(case_key, case_url)
    tail = " · ".join(p for p in (severity, f"Commander: {commander_name}" if commander_name
                                  else "") if p)
    topic = f"{head} · {tail}" if tail else head
    return topic if len(topic) <= _TOPIC_LIMIT else topic[:_TOPIC_LIMIT - 1] + "…"


def commander_notice(commander: str, requested_by: str | None) -> str:
    if requested_by == commander:
        return f"<@{commander}> is now the incident commander."
    return f"<@{commander}> is now the incident commander (named by {who(requested_by)})."


def commander_comment(commander: str, requester: str) -> str:
    """Jira record (`commander`, `requester`: names people can read months later)."""
    return f"Incident commander: {commander} (named by {requester} in Slack via irbot)."


def severity_notice(old: str, new: str, requested_by: str | None) -> str:
    change = f"from {old} to *{new}*" if old and old != new else f"to *{new}*"
    return f"Severity changed {change} by {who(requested_by)}."


def severity_comment(old: str, new: str, requester: str, priority: str | None) -> str:
    change = f"from {old} to {new}" if old and old != new else f"to {new}"
    return (f"Severity changed {change} by {requester} in Slack via irbot."
            + (f" Jira priority set to {priority}." if priority else ""))


def priority_refused(priority: str, case_key: str, reason: str) -> str:
    return (f"Jira did not accept the priority {priority} on {case_key} ({reason}); the "
            "severity changed anyway. Set the priority by hand.")


def status_label(status: str) -> str:
    return status.capitalize() if status else "No status yet"


def status_update(status: str, summary: str, requested_by: str | None,
                  case_key: str = "", channel_id: str = "") -> tuple[str, list[dict[str, Any]]]:
    """An update as posted: in the incident channel, or mirrored (with the case and where it
    came from) to the executive channel."""
    where = f" in <#{channel_id}>" if channel_id else ""
    head = (f"{case_key} status update" if case_key else "Status update") + \
        f": {status_label(status)}"
    byline = f"Posted by {who(requested_by)}{where}"
    body = slack_escape(summary)
    text = f"{head}. {body} ({byline})"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*\n{body}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": byline}]},
    ]
    return text, blocks


def update_comment(status: str, summary: str, requester: str) -> str:
    return f"Status update ({status_label(status)}) by {requester}:\n{summary}"


HANDOVER_PARTS = (("known", "What we know"), ("in_progress", "In progress"),
                  ("actions", "Open actions"))


def handover_message(parts: dict[str, str], old: str, new: str,
                     requested_by: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The one message a handover posts; `parts` by HANDOVER_PARTS key."""
    head = f"Handover: <@{new}> takes command from <@{old}>" if old != new else \
        f"Handover notes: <@{new}> stays in command"
    sections = [f"*{label}*\n{slack_escape(parts.get(key) or '—')}"
                for key, label in HANDOVER_PARTS]
    byline = f"Posted by {who(requested_by)}"
    text = f"{head}. " + " · ".join(f"{label}: {slack_escape(parts.get(key) or '—')}"
                                    for key, label in HANDOVER_PARTS)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*"}},
        *({"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": byline}]},
    ]
    return text, blocks


def handover_comment(parts: dict[str, str], old: str, new: str, requester: str) -> str:
    """Jira record (`old`, `new`, `requester`: names people can read months later)."""
    lines = [f"Handover by {requester}: incident commander {old} → {new}."]
    lines += [f"{label}:\n{parts.get(key) or '—'}" for key, label in HANDOVER_PARTS]
    return "\n\n".join(lines)


# --- Containment through CrowdStrike Falcon (`/irbot contain`, `/irbot lift`) ---------------

CONTAIN_CONFIRM_ACTION = "irbot_contain_confirm"
CONTAIN_CANCEL_ACTION = "irbot_contain_cancel"
# Per action: (verb, the button's label, the status that means it is done already).
HOST_ACTIONS = {"contain": ("contain", "Contain", "contained"),
                "lift": ("lift containment of", "Lift", "normal")}
_STATUS_WORDS = {"normal": "not contained", "contained": "contained",
                 "containment_pending": "containment pending",
                 "lift_containment_pending": "lift of containment pending"}


def _subject(person: str) -> str:
    """A sentence's subject: our own phrases capitalised, people's names as they spell them."""
    return _sentence(person) if person == OPERATOR else person


def containment_status(status: str) -> str:
    """Falcon's device status in words."""
    return _STATUS_WORDS.get(status, status or "unknown")


def host_summary(host: dict[str, Any], last_seen: str) -> str:
    """`web-01` · Ubuntu 24.04 (Linux) · last seen … · not contained (the platform only when
    the OS version does not already say it)."""
    os_name = str(host.get("os_version") or "").strip()
    platform = str(host.get("platform_name") or "")
    if platform and platform not in os_name:
        os_name = f"{os_name} ({platform})" if os_name else platform
    return (f"`{host.get('hostname', '?')}` · {os_name or 'unknown OS'} · last seen "
            f"{last_seen or 'never'} · {containment_status(str(host.get('status') or ''))}")


def falcon_time(value: str) -> str:
    """Falcon's ISO time (`2026-01-01T00:00:00Z`) for Slack readers; as given if unreadable."""
    try:
        return slack_time(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return value


def host_card(action: str, requested_by: str | None, host: dict[str, Any],
              value: str) -> tuple[str, list[dict[str, Any]]]:
    """What Falcon found, with the confirm / Cancel buttons (the buttons carry `value`)."""
    verb, label, _ = HOST_ACTIONS[action]
    text = (f"{_subject(who(requested_by))} asked to {verb} a host. CrowdStrike Falcon found "
            f"{host_summary(host, falcon_time(str(host.get('last_seen') or '')))}. The incident "
            f"commander or an allowed responder can confirm.")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": "irbot_contain", "elements": [
            {"type": "button", "action_id": CONTAIN_CONFIRM_ACTION, "style": "danger",
             "text": {"type": "plain_text", "text": label}, "value": value},
            {"type": "button", "action_id": CONTAIN_CANCEL_ACTION,
             "text": {"type": "plain_text", "text": "Cancel"}, "value": value},
        ]},
    ]
    return text, blocks


def host_card_outcome(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The card once decided: same place, no buttons."""
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def host_already(action: str, hostname: str, status: str) -> str:
    return (f"`{hostname}` is already {containment_status(status)} in CrowdStrike Falcon: "
            f"nothing to {HOST_ACTIONS[action][0].split()[0]}.")


def host_not_found(hostname: str) -> str:
    return (f"CrowdStrike Falcon has no host named `{hostname}`. Check the name (Falcon's "
            "hostname, without the domain if Falcon shows none).")


def hosts_ambiguous(hostname: str, device_ids: list[str]) -> str:
    shown = ", ".join(f"`{d}`" for d in device_ids[:5])
    return (f"CrowdStrike Falcon has {len(device_ids)} hosts named `{hostname}` ({shown}), so "
            "irbot will not guess which one: act on it in the Falcon console.")


def lookup_failed(action: str, hostname: str, reason: str) -> str:
    return f"Could not look up `{hostname}` to {HOST_ACTIONS[action][0]} it: {reason}"


def host_confirmed(action: str, hostname: str, decider: str) -> str:
    return (f"{_subject(decider)} confirmed: asking CrowdStrike Falcon to "
            f"{HOST_ACTIONS[action][0]} `{hostname}`…")


def host_cancelled(action: str, hostname: str, decider: str) -> str:
    return (f"{_subject(decider)} cancelled: `{hostname}` was not changed "
            f"(no {'containment' if action == 'contain' else 'lift'} was requested).")


def host_done(action: str, hostname: str, status: str) -> str:
    done = HOST_ACTIONS[action][2]
    if status == done:
        return f"CrowdStrike Falcon reports `{hostname}` {containment_status(status)}."
    return (f"CrowdStrike Falcon accepted the request; `{hostname}` is "
            f"{containment_status(status)} (the sensor completes it when it next checks in).")


def host_action_failed(action: str, hostname: str, reason: str) -> str:
    return f"CrowdStrike Falcon did not {HOST_ACTIONS[action][0]} `{hostname}`: {reason}"


def containment_comment(hostname: str, step: str) -> str:
    """A Jira comment for one containment step (names, never Slack mentions)."""
    return f"[CrowdStrike Falcon · {hostname}] {step}"


def lookup_comment(action: str, hostname: str, requester: str, host: dict[str, Any]) -> str:
    return (f"{_subject(requester)} asked via Slack to {HOST_ACTIONS[action][0]} this host. "
            f"Falcon found device {host.get('device_id', '?')}: "
            f"{host_summary(host, str(host.get('last_seen') or ''))}. Awaiting confirmation.")


# Falcon's refusals and outages, for responders (tasks/falcon.py maps its answers to these).
def falcon_auth_refused(status: int) -> str:
    return (f"Falcon refused irbot's API client (HTTP {status}). Whoever runs irbot should "
            "check FALCON_CLIENT_ID / FALCON_CLIENT_SECRET and FALCON_BASE_URL (`irbot check`).")


def falcon_forbidden(status: int) -> str:
    return (f"Falcon refused this (HTTP {status}): irbot's API client lacks the Hosts scope "
            "(read and write). Whoever runs irbot can add it in Falcon's API clients page.")


def falcon_throttled(attempts: int) -> str:
    return (f"Falcon is rate-limiting irbot (HTTP 429) and still was after "
            f"{count(attempts, 'attempt')}. Nothing was changed; try again in a minute.")


def falcon_unavailable(status: int, attempts: int) -> str:
    what = f"HTTP {status}" if status else "no answer"
    return (f"Falcon is not answering ({what}) after {count(attempts, 'attempt')}. Nothing was "
            "changed; try again shortly.")


def falcon_rejected(status: int, detail: str) -> str:
    return f"Falcon rejected the request (HTTP {status}: {detail[:200] or 'no detail'})."


# remind-incident

REMINDER_OUTDATED = ("That is not the latest update reminder, so nothing was snoozed; use the "
                     "Snooze button on the newest one.")


def update_reminder(commander: str, since: datetime, period_text: str,
                    channel_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The reminder in the incident channel, mentioning the commander, with one Snooze button
    (its value: the channel, so the click names its incident)."""
    text = (f"<@{commander}>, no status update since {slack_time(since)}: please post one "
            "with `/irbot update`.")
    about = (f"A reminder comes after {period_text} without an update. Snooze: none for the "
             f"next {period_text}.")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": about}]},
        {"type": "actions", "block_id": "irbot_reminder", "elements": [
            {"type": "button", "action_id": REMINDER_SNOOZE_ACTION, "value": channel_id,
             "text": {"type": "plain_text", "text": f"Snooze {period_text}"}}]},
    ]
    return text, blocks


def reminder_snoozed(snoozed_by: str, until: datetime) -> tuple[str, list[dict[str, Any]]]:
    """The reminder once snoozed: same place, no button (it cannot be snoozed twice)."""
    text = (f"Update reminder snoozed by {who(snoozed_by)}: no reminder before "
            f"{slack_time(until)}.")
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
