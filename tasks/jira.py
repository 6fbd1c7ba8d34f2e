"""Jira REST steps: the case, its comments and its transcript attachment."""

from __future__ import annotations

import io
from typing import Any

from jira import JIRA
from jira.exceptions import JIRAError
from prefect import task

from tasks.errors import CaseNotFound, VendorRefused
from tasks.slack import RETRYING

TRANSCRIPT_PREFIX = "transcript_"


def transcript_filename(case_key: str, channel_id: str) -> str:
    """One name per incident, so every copy of its transcript is recognisable."""
    return f"{TRANSCRIPT_PREFIX}{case_key}_{channel_id}.csv"


def issue_fields(project: str, issue_type: str, title: str, severity: str,
                 requester: str) -> dict[str, Any]:
    """Fields for a new incident case."""
    return {
        "project": {"key": project},
        "issuetype": {"name": issue_type},
        "summary": title,
        "description": (f"Severity: {severity}\nRequested by: {requester}\n"
                        "Opened from Slack by irbot."),
    }


def _refusal(exc: JIRAError, what: str) -> VendorRefused:
    detail = (exc.text or "").strip() or f"HTTP {exc.status_code}"
    return VendorRefused(f"Jira refused to {what}: {detail}")


@task(name="jira-create-case", **RETRYING)
def create_case(jira: JIRA, fields: dict[str, Any]) -> str:
    """Create the incident's Jira issue; returns its key."""
    try:
        issue = jira.create_issue(fields=fields, prefetch=False)
    except JIRAError as exc:
        if exc.status_code in (400, 401, 403, 404):
            raise _refusal(exc, "create the case") from exc
        raise
    return str(issue.key)


@task(name="jira-check-case", **RETRYING)
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


@task(name="jira-comment", **RETRYING)
def add_comment(jira: JIRA, key: str, body: str) -> None:
    """Record something on the case."""
    jira.add_comment(key, body)


@task(name="jira-list-transcripts", **RETRYING)
def list_transcripts(jira: JIRA, key: str, filename: str) -> list[dict[str, str]]:
    """Every copy of this incident's transcript on the case, oldest first."""
    issue = jira.issue(key, fields="attachment")
    found = [
        {"id": str(a.id), "filename": str(a.filename), "created": str(getattr(a, "created", ""))}
        for a in (issue.fields.attachment or [])
        if a.filename == filename
    ]
    return sorted(found, key=lambda a: int(a["id"]) if a["id"].isdigit() else a["id"])


@task(name="jira-download-attachment", **RETRYING)
def download_attachment(jira: JIRA, attachment_id: str) -> bytes:
    """The bytes of one attachment."""
    return bytes(jira.attachment(attachment_id).get())  # type: ignore[no-untyped-call]


@task(name="jira-upload-transcript", **RETRYING)
def upload_attachment(jira: JIRA, key: str, content: bytes, filename: str) -> str:
    """Attach a file; returns the new attachment id."""
    attachment = jira.add_attachment(key, io.BytesIO(content), filename=filename)
    return str(attachment.id)


@task(name="jira-delete-attachment", **RETRYING)
def delete_attachment(jira: JIRA, attachment_id: str) -> None:
    """Delete an attachment; one already gone is fine."""
    try:
        jira.delete_attachment(attachment_id)
    except JIRAError as exc:
        if exc.status_code != 404:
            raise
