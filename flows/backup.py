"""backup-incident: history since the cursor → names → CSV merged into the Jira transcript."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from slack_sdk import WebClient

from tasks import jira as jira_tasks
from tasks import messages, transcript
from tasks import slack as slack_tasks
from tasks.clients import jira_client, slack_client
from tasks.errors import IrbotError
from tasks.runs import refuse_crash_loop
from tasks.settings import get_settings
from tasks.state import IncidentState, incident_lock, load_incident, save_incident


def notify(slack: WebClient, channel_id: str, text: str) -> None:
    """A status notice in the channel; marked so later backups leave it out."""
    try:
        slack_tasks.post_message(slack, channel_id, text, kind="backup")
    except Exception:
        get_run_logger().exception("Could not post a backup notice in %s", channel_id)


@flow(name="backup-incident")
def backup_incident(channel_id: str, requested_by: str | None = None) -> dict[str, Any]:
    """Append the channel's new messages to the incident's transcript on Jira, exactly once."""
    refuse_crash_loop(str(flow_run.id), int(flow_run.run_count or 1))
    settings = get_settings()
    slack = slack_client(settings)
    state = load_incident(channel_id)  # NotAnIncident fails the run with a clear message
    who = f"<@{requested_by}>" if requested_by else "an operator (Prefect)"
    notify(slack, channel_id, f"Backup to {state.case_key} requested by {who}…")
    try:
        with incident_lock(channel_id):
            result = _backup_locked(slack, channel_id, requested_by)
    except Exception as exc:
        reason = exc.user_message if isinstance(exc, IrbotError) else type(exc).__name__
        notify(slack, channel_id,
               f"Backup failed ({reason}). Nothing was lost: the next backup starts from the "
               f"same point. Details: {flow_run.ui_url or 'the Prefect UI'}")
        raise
    if result["new_messages"]:
        notify(slack, channel_id, f"Backup saved to {result['case_key']}: "
               f"{messages.count(result['new_messages'], 'new message')}, "
               f"{result['total_messages']} in total.")
    else:
        notify(slack, channel_id, "Nothing new since the last backup; Jira is unchanged.")
    return result


def _backup_locked(slack: WebClient, channel_id: str, requested_by: str | None) -> dict[str, Any]:
    """The read-merge-write cycle; the caller holds the incident lock."""
    log = get_run_logger()
    state = load_incident(channel_id)  # re-read under the lock: another backup may have moved it
    fetched = slack_tasks.fetch_history_since(slack, channel_id, state.backup_cursor)
    me = slack_tasks.bot_identity(slack)
    rows = [m for m in fetched if not messages.is_from_irbot(m, me)]
    summary: dict[str, Any] = {"case_key": state.case_key, "new_messages": 0,
                               "total_messages": state.message_count,
                               "attachment_id": state.transcript_attachment_id}
    if not rows:
        log.info("No new messages since %s", state.backup_cursor or "the start")
        return summary

    jira = jira_client()
    filename = jira_tasks.transcript_filename(state.case_key, channel_id)
    # Every stored copy counts: a crash between upload and delete leaves two.
    copies = jira_tasks.list_transcripts(jira, state.case_key, filename)
    stored_bytes = [jira_tasks.download_attachment(jira, c["id"]) for c in copies]
    stored = transcript.merge(transcript.read_csv(data) for data in stored_bytes)
    # Names already in the transcript are reused: users.info only for people new to it.
    names = transcript.known_names(stored)
    unknown = sorted(transcript.author_ids(rows) - names.keys())
    names |= slack_tasks.user_names(slack, unknown) if unknown else {}
    merged = transcript.neutralise(
        transcript.merge([stored, transcript.messages_to_frame(rows, names)]))

    if len(merged) == len(stored) and copies:
        # The newest copy is already complete (a repeat, or a crash after its upload).
        new_id, content = copies[-1]["id"], stored_bytes[-1]
        for copy in copies[:-1]:
            jira_tasks.delete_attachment(jira, copy["id"])
    else:
        content = transcript.to_csv(merged)
        # Upload first, then delete: a crash in between leaves two copies, never none.
        new_id = jira_tasks.upload_attachment(jira, state.case_key, content, filename)
        for copy in copies:
            if copy["id"] != new_id:
                jira_tasks.delete_attachment(jira, copy["id"])
    digest = hashlib.sha256(content).hexdigest()
    # Rows no backup comment has counted yet (more than the file's new rows after a failure).
    unrecorded = max(len(merged) - state.message_count, 0)
    if unrecorded:
        # Recorded before the cursor moves: if Jira refuses the comment, the run fails with
        # the cursor in place and the next backup records these rows again.
        jira_tasks.add_comment(jira, state.case_key, messages.backup_comment(
            unrecorded, len(merged), filename, digest,
            slack_tasks.person(slack, requested_by, names)))
    _advance(state, fetched[-1]["ts"], new_id, len(merged))
    log.info("Stored %s new rows (%s total) as attachment %s", unrecorded, len(merged), new_id)
    summary.update(new_messages=unrecorded, total_messages=len(merged), attachment_id=new_id,
                   sha256=digest, filename=filename)
    return summary


def _advance(state: IncidentState, cursor: str, attachment_id: str, total: int) -> None:
    """Move the cursor: only ever called once the merged CSV is safely in Jira."""
    state.backup_cursor = str(cursor)
    state.transcript_attachment_id = attachment_id
    state.message_count = total
    state.last_backup_at = datetime.now(UTC)
    save_incident(state)
