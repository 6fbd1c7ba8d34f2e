"""Jira REST steps: the case, its comments and its transcript attachment."""

from __future__ import annotations

import io
from typing import Any

from jira import JIRA
from jira.exceptions import JIRAError
from prefect import task

from tasks.errors import CaseNotFound, VendorRefused
from tasks.retry import TASK_OPTIONS, is_repeat_attempt

TRANSCRIPT_PREFIX = "transcript_"


def transcript_filename(case_key: str, channel_id: str) -> str:
    """One name per incident, so every copy of its transcript is recognisable."""
    return f"{TRANSCRIPT_PREFIX}{case_key}_{channel_id}.csv"


def request_label(request_id: str) -> str:
    """The label that ties a case to the Slack request that made it (labels have no spaces)."""
    return "irbot-request-" + "".join(c for c in request_id.lower() if c.isalnum() or c in "-_")


def issue_fields(project: str, issue_type: str, title: str, severity: str,
                 requester: str, request_id: str = "") -> dict[str, Any]:
    """Fields for a new incident case; labelled with the request so a re-run finds it."""
    return {
        "project": {"key": project},
        "issuetype": {"name": issue_type},
        "labels": [request_label(request_id)] if request_id else [],
        "summary": title,
        "description": (f"Severity: {severity}\nRequested by: {requester}\n"
                        "Opened from Slack by irbot."),
    }


def _refusal(exc: JIRAError, what: str) -> VendorRefused:
    detail = (exc.text or "").strip() or f"HTTP {exc.status_code}"
    return VendorRefused(f"Jira refused to {what}: {detail}")


def find_labelled_case(jira: JIRA, project: str, label: str) -> str | None:
    """The key of the case carrying `label`, if an earlier attempt already made it."""
    found = jira.enhanced_search_issues(f'project = "{project}" AND labels = "{label}"',
                                        maxResults=1, fields=["summary"], json_result=True)
    if not isinstance(found, dict):
        # No search happened (the library declined it): "not found" would make a second case.
        raise RuntimeError(f"Jira search for the label {label} returned {found!r}")
    issues = found.get("issues") or []
    return str(issues[0]["key"]) if issues else None


@task(name="jira-create-case", **TASK_OPTIONS)
def create_case(jira: JIRA, fields: dict[str, Any]) -> str:
    """Create the incident's Jira issue, once; returns its key.

    Jira has no idempotency key, so a repeated attempt (a retry after a 5xx that may hide a
    success, or a re-run after a crash) first looks for the case labelled with the request.
    """
    labels = fields.get("labels") or []
    if labels and is_repeat_attempt():
        key = find_labelled_case(jira, str(fields["project"]["key"]), str(labels[0]))
        if key:
            return key
    try:
        issue = jira.create_issue(fields=fields, prefetch=False)
    except JIRAError as exc:
        if exc.status_code in (400, 401, 403, 404):
            raise _refusal(exc, "create the case") from exc
        raise
    return str(issue.key)


@task(name="jira-check-case", **TASK_OPTIONS)
def check_case(jira: JIRA, key: str) -> str:
    """Confirm an existing case; returns its canonical key (Jira may differ in case)."""
    try:
        issue = jira.issue(key, fields="summary")
    except JIRAError as exc:
        if exc.status_code in (400, 404):
            raise CaseNotFound(
                f"Jira has no case {key} (or irbot may not see it). Check the key, or tick "
                "“create a new Jira incident”."
            ) from exc
        if exc.status_code in (401, 403):
            raise _refusal(exc, f"show case {key}") from exc
        raise
    return str(issue.key)


@task(name="jira-comment", **TASK_OPTIONS)
def add_comment(jira: JIRA, key: str, body: str, marker: str = "") -> None:
    """Record something on the case, once (a repeated attempt first looks for its comment:
    the same body, or one holding `marker` when the body may come out different)."""
    if is_repeat_attempt() and any(
            str(c.body).strip() == body.strip() or (marker and marker in str(c.body))
            for c in jira.comments(key)):
        return
    jira.add_comment(key, body)


@task(name="jira-set-priority", **TASK_OPTIONS)
def set_priority(jira: JIRA, key: str, priority: str) -> None:
    """Set the case's priority by name (setting the same again is harmless: retries are safe)."""
    try:
        jira.issue(key, fields="priority").update(fields={"priority": {"name": priority}})
    except JIRAError as exc:
        if exc.status_code in (400, 401, 403, 404):
            raise _refusal(exc, f"set the priority {priority} on {key}") from exc
        raise


@task(name="jira-list-attachments", **TASK_OPTIONS)
def list_attachments(jira: JIRA, key: str) -> list[dict[str, str]]:
    """Every attachment on the case (transcript copies and files), oldest first."""
    issue = jira.issue(key, fields="attachment")
    found = [
        {"id": str(a.id), "filename": str(a.filename), "created": str(getattr(a, "created", ""))}
        for a in (issue.fields.attachment or [])
    ]
    return sorted(found, key=lambda a: int(a["id"]) if a["id"].isdigit() else a["id"])


@task(name="jira-download-attachment", **TASK_OPTIONS)
def download_attachment(jira: JIRA, attachment_id: str) -> bytes:
    """The bytes of one attachment."""
    return bytes(jira.attachment(attachment_id).get())  # type: ignore[no-untyped-call]


@task(name="jira-upload-transcript", **TASK_OPTIONS)
def upload_attachment(jira: JIRA, key: str, content: bytes, filename: str) -> str:
    """Attach a file; returns the new attachment id."""
    attachment = jira.add_attachment(key, io.BytesIO(content), filename=filename)
    return str(attachment.id)


@task(name="jira-delete-attachment", **TASK_OPTIONS)
def delete_attachment(jira: JIRA, attachment_id: str) -> None:
    """Delete an attachment; one already gone is fine."""
    try:
        jira.delete_attachment(attachment_id)
    except JIRAError as exc:
        if exc.status_code != 404:
            raise
