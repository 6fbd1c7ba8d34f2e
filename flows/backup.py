"""backup-incident: the channel and its threads → masked rows → merged into the Jira transcript.

Every backup reads the channel's top-level messages whole (edits, deletions, reactions and new
replies to old threads show there), then only the threads with new replies, names only for
people new to the transcript, and each file once. A channel whose messages are what the last
backup stored, with no thread news, is left alone: no Jira call at all.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from slack_sdk import WebClient

from tasks import activity, deployments, messages, transcript
from tasks import jira as jira_tasks
from tasks import slack as slack_tasks
from tasks.clients import jira_client, slack_client, slack_files_client
from tasks.errors import IrbotError
from tasks.files import attach_files, plan_files, stored_notes
from tasks.runs import refuse_crash_loop
from tasks.settings import Settings, get_settings
from tasks.slack_read import read_history, read_replies
from tasks.state import IncidentState, backup_lock, change_incident, load_incident
from tasks.transcript_merge import apply_backup, fingerprint, masked_in, redact_frame, timeline


class TranscriptIncomplete(IrbotError):
    """The final backup's check found messages or files Slack lists that Jira lacks."""


def notify(slack: WebClient, channel_id: str, text: str) -> None:
    """A status notice in the channel; marked so later backups leave it out."""
    try:
        slack_tasks.post_message(slack, channel_id, text, kind="backup")
    except Exception:
        get_run_logger().exception("Could not post a backup notice in %s", channel_id)


@flow(name=deployments.flow_of(deployments.BACKUP))
def backup_incident(channel_id: str, requested_by: str | None = None, final: bool = False,
                    automatic: bool = False) -> dict[str, Any]:
    """Store the channel's conversation in the incident's transcript on Jira, exactly once.

    `final` (the archive's backup) re-reads every thread and checks the transcript is complete;
    `automatic` (the schedule) posts nothing in Slack unless the backup fails.
    """
    refuse_crash_loop(str(flow_run.id), int(flow_run.run_count or 1))
    settings = get_settings()
    slack = slack_client(settings)
    state = load_incident(channel_id)  # NotAnIncident fails the run with a clear message
    if not automatic:
        notify(slack, channel_id, messages.backup_requested(state.case_key, requested_by))
    try:
        # Backups queue on their own lock; the state's lock is held only to save the result.
        with backup_lock(channel_id):
            result = _backup_locked(slack, settings, channel_id, requested_by, final,
                                    automatic)
    except Exception as exc:
        reason = exc.user_message if isinstance(exc, IrbotError) else type(exc).__name__
        notify(slack, channel_id, messages.backup_failed(reason, flow_run.ui_url or ""))
        raise
    if not automatic:
        # Same text as a crashed attempt's, so the post finds that attempt's if it was made.
        notify(slack, channel_id, result["notice"] or messages.NOTHING_NEW)
    return result


def _backup_locked(slack: WebClient, settings: Settings, channel_id: str,
                   requested_by: str | None, final: bool, automatic: bool) -> dict[str, Any]:
    """The read-merge-write cycle; the caller holds the backup lock (so the backup fields of
    the state are this run's to move; the rest may change meanwhile)."""
    log = get_run_logger()
    mask = settings.IRBOT_REDACT_SECRETS
    state = load_incident(channel_id)  # re-read under the lock: another backup may have moved it
    history = read_history(slack, channel_id, mask)
    me = slack_tasks.bot_identity(slack)
    people = [m for m in history if not messages.is_from_irbot(m, me)]
    # A transcript from before replies were stored (no fingerprint yet) lacks every thread.
    threads = activity.threads_to_read(history, state.backup_cursor,
                                       every_thread=final or not state.transcript_fingerprint)
    summary: dict[str, Any] = {
        "case_key": state.case_key, "changed": False, "new_messages": 0, "new_replies": 0,
        "edited": 0, "deleted": 0, "files_attached": 0, "secrets_masked": 0,
        "total_messages": state.message_count, "attachment_id": state.transcript_attachment_id,
        "notice": ""}
    listed_now = fingerprint(people)
    if not final and not threads and listed_now == state.transcript_fingerprint:
        log.info("Nothing new since %s", state.backup_cursor or "the start")
        if state.last_backup_run_id == str(flow_run.id):
            # This run stored it before it crashed: its notice is still owed (or found).
            summary["notice"] = state.last_backup_notice
        return summary

    replies = read_replies(slack, channel_id, threads, mask) if threads else []
    listed = {str(m["ts"]) for m in [*history, *replies]}
    on_channel = {str(m["ts"]) for m in history}
    rows = people + [r for r in replies if str(r["ts"]) not in on_channel
                     and not messages.is_from_irbot(r, me)]
    rows.sort(key=lambda m: float(m["ts"]))
    if not rows and not state.transcript_attachment_id:
        log.info("Nothing to store yet")
        return summary  # an empty transcript is not worth a file

    jira = jira_client()
    filename = jira_tasks.transcript_filename(state.case_key, channel_id)
    attachments = jira_tasks.list_attachments(jira, state.case_key)
    # Every stored copy counts: a crash between upload and delete leaves two.
    copies = [a for a in attachments if a["filename"] == filename]
    stored_bytes = [jira_tasks.download_attachment(jira, c["id"]) for c in copies]
    as_stored = transcript.merge(transcript.read_csv(data) for data in stored_bytes)
    # A secret an earlier version (or a backup with masking off) stored is the one thing a
    # backup removes from the CSV.
    stored = redact_frame(as_stored)[0] if mask and not state.transcript_masked else as_stored
    # Names already in the transcript are reused: users.info only for people new to it.
    names = transcript.known_names(stored)
    unknown = sorted(transcript.author_ids(rows) - names.keys())
    names |= slack_tasks.user_names(slack, unknown) if unknown else {}
    files, to_fetch = plan_files([f for m in rows for f in m.get("files") or []],
                                 {a["filename"] for a in attachments},
                                 stored_notes(stored["files"]), settings.max_file_bytes)
    if to_fetch:  # a task run (and an HTTP client) only when a file is new to the case
        with slack_files_client(settings) as http:
            files.add(attach_files(http, jira, state.case_key, to_fetch,
                                   settings.max_file_bytes, mask))
    fresh = transcript.neutralise(transcript.messages_to_frame(
        rows, names, settings.IRBOT_TIMELINE_EMOJI, files.notes))
    seen_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    merged, changes = apply_backup(stored, fresh, listed, set(threads), seen_at)
    masked = max(masked_in(merged) - masked_in(as_stored), 0) if mask else 0

    content = transcript.to_csv(merged)
    uploaded = not (copies and content == stored_bytes[-1])
    if not uploaded:
        # The newest copy is already complete (a repeat, or a crash after its upload).
        new_id = copies[-1]["id"]
        for copy in copies[:-1]:
            jira_tasks.delete_attachment(jira, copy["id"])
    else:
        # Upload first, then delete: a crash in between leaves two copies, never none.
        new_id = jira_tasks.upload_attachment(jira, state.case_key, content, filename)
        for copy in copies:
            if copy["id"] != new_id:
                jira_tasks.delete_attachment(jira, copy["id"])
    digest = hashlib.sha256(content).hexdigest()
    # Rows no backup comment has counted yet (more than the file's new rows after a failure).
    unrecorded = max(len(merged) - state.message_count, 0)
    # Reactions and flags change the file without changing any count: still worth a record.
    changed = bool(unrecorded or changes.any or files.attached or masked or uploaded)
    who = (slack_tasks.person(slack, requested_by, names) if requested_by
           else messages.AUTOMATIC if automatic else messages.OPERATOR)
    if changed:
        # Recorded before the cursor moves: if Jira refuses the comment, the run fails with
        # the cursor in place and the next backup records these rows again.
        # A re-run after a crash that followed the comment counts differently (the stored
        # file already holds the new rows), so its comment is found by the file's digest.
        jira_tasks.add_comment(jira, state.case_key, messages.backup_comment(
            unrecorded, len(merged), filename, digest, who, messages.backup_details(
                changes.new_replies, changes.edited, changes.deleted, files.attached,
                masked if mask else None)), marker=f"SHA-256: {digest}")
    if final:
        _final_checks(slack, jira, state, channel_id, merged, me, mask,
                      activity.cursor_after(history, replies, state.backup_cursor))
    notice = messages.backup_saved(state.case_key, unrecorded, changes.new_replies,
                                   changes.edited, changes.deleted, len(merged)) if changed else ""
    _advance(channel_id, activity.cursor_after(history, replies, state.backup_cursor), new_id,
             len(merged), listed_now, mask, notice)
    log.info("Stored %s new rows (%s total), %s edited, %s deleted as attachment %s",
             unrecorded, len(merged), changes.edited, changes.deleted, new_id)
    summary.update(changed=changed, new_messages=unrecorded, new_replies=changes.new_replies,
                   edited=changes.edited, deleted=changes.deleted,
                   files_attached=files.attached, secrets_masked=masked,
                   total_messages=len(merged), attachment_id=new_id, sha256=digest,
                   filename=filename, notice=notice)
    return summary


def _final_checks(slack: WebClient, jira: Any, state: IncidentState, channel_id: str,
                  merged: Any, me: dict[str, str], mask: bool, up_to: str) -> None:
    """At archive: Slack listed again, compared with what Jira now holds; then the timeline.

    A gap fails the backup (so the archive does not happen) and is named on the case."""
    history = read_history(slack, channel_id, mask)
    threads = activity.threads_to_read(history, "", every_thread=True)
    listing = [m for m in [*history, *read_replies(slack, channel_id, threads, mask)]
               if not messages.is_from_irbot(m, me)]
    unique = list({str(m["ts"]): m for m in listing}.values())
    check = activity.check_complete(unique, merged, up_to)
    jira_tasks.add_comment(jira, state.case_key, messages.final_check_comment(check.summary()))
    if not check.complete:
        raise TranscriptIncomplete(messages.transcript_incomplete(len(check.missing)))
    story = timeline(merged)
    if story:
        jira_tasks.add_comment(jira, state.case_key, story)


def _advance(channel_id: str, cursor: str, attachment_id: str, total: int,
             stored_fingerprint: str, masked: bool, notice: str) -> None:
    """Move the cursor: only ever called once the merged CSV is safely in Jira. Only the
    backup's own fields change: a commander or severity set during the fetch stays."""
    def stored(state: IncidentState) -> None:
        state.backup_cursor = str(cursor)
        state.transcript_attachment_id = attachment_id
        state.message_count = total
        state.transcript_fingerprint = stored_fingerprint
        state.transcript_masked = masked
        state.last_backup_run_id, state.last_backup_notice = str(flow_run.id), notice
        state.last_backup_at = datetime.now(UTC)

    change_incident(channel_id, stored)
