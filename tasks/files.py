"""Files shared in the channel, attached to the Jira case beside the transcript, each once."""

from __future__ import annotations

import io
import mimetypes
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from jira import JIRA
from prefect import task

from tasks.redaction import holds_secret
from tasks.retry import TASK_OPTIONS
from tasks.slack_read import FileTooLarge, download_file

PREFIX = "slack-"
_TEXT_TYPES = {"application/json", "application/csv", "application/x-ndjson", "application/xml",
               "application/x-yaml", "application/yaml", "application/x-sh"}
_TEXT_SUFFIXES = (".txt", ".log", ".csv", ".json", ".yaml", ".yml", ".ini", ".conf", ".cfg",
                  ".env", ".xml", ".sh", ".md")
_UNSAFE = re.compile(r"[^\w.\- ]+")
# Outcomes a later backup keeps instead of fetching the file again.
FINAL_NOTES = ("not attached: it holds a secret", "not attached: over the")
HIDDEN = "not attached: Slack hides it (beyond the workspace plan's file limit)"


def jira_name(file: Mapping[str, Any]) -> str:
    """The attachment's name on the case: the Slack file id keeps each file attached once."""
    name = _UNSAFE.sub("_", str(file.get("name") or "file")).strip() or "file"
    if "." not in name:  # e.g. a masked name: Jira types attachments by their extension
        name += mimetypes.guess_extension(str(file.get("mimetype") or "")) or ""
    return f"{PREFIX}{file['id']}-{name[:120]}"


def is_text(file: Mapping[str, Any]) -> bool:
    """Files scanned for secrets like messages are: text/*, JSON, CSV, logs and the like."""
    mime = str(file.get("mimetype") or "")
    return mime.startswith("text/") or mime in _TEXT_TYPES or str(
        file.get("name") or "").lower().endswith(_TEXT_SUFFIXES)


def stored_notes(files_cells: Iterable[str]) -> dict[str, str]:
    """permalink → outcome, from a stored transcript's `files` cells."""
    notes: dict[str, str] = {}
    for cell in files_cells:
        for line in str(cell).split("\n"):
            start, end = line.find("<"), line.find(">: ")
            if 0 <= start < end:
                notes[line[start + 1:end]] = line[end + 3:]
    return notes


@dataclass
class FilesOutcome:
    notes: dict[str, str] = field(default_factory=dict)  # Slack file id → what became of it
    attached: int = 0  # attached by this backup

    def add(self, other: FilesOutcome) -> None:
        self.notes.update(other.notes)
        self.attached += other.attached


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 2**10:.1f} KB"


def _download_url(file: Mapping[str, Any]) -> str:
    return str(file.get("url_private_download") or file.get("url_private") or "")


def settled_note(file: Mapping[str, Any], on_jira: set[str], previous: dict[str, str],
                 max_bytes: int) -> str | None:
    """What became of a file, when that is known without fetching it; None: fetch it."""
    name = jira_name(file)
    earlier = previous.get(str(file.get("permalink") or ""), "")
    size = int(file.get("size") or 0)
    if file.get("mode") == "hidden_by_limit":
        return HIDDEN
    if name in on_jira:
        return f"attached to Jira as {name}"
    if earlier.startswith(FINAL_NOTES):
        return earlier
    if size > max_bytes:
        return f"not attached: over the {_megabytes(max_bytes)} cap ({_megabytes(size)})"
    if not _download_url(file):
        return "not attached: Slack gave no download link"
    return None


def plan_files(files: Iterable[Mapping[str, Any]], on_jira: set[str], previous: dict[str, str],
               max_bytes: int) -> tuple[FilesOutcome, list[dict[str, Any]]]:
    """The notes of the files already settled, and the rest (each once) to fetch and attach.

    Most backups find every file already on the case: they need no fetching task at all."""
    settled, to_fetch, seen = FilesOutcome(), [], set()
    for file in files:
        file_id = str(file.get("id") or "")
        if not file_id or file_id in seen:
            continue
        seen.add(file_id)
        note = settled_note(file, on_jira, previous, max_bytes)
        if note is None:
            to_fetch.append(dict(file))
        else:
            settled.notes[file_id] = note
    return settled, to_fetch


@task(name="jira-attach-slack-files", **TASK_OPTIONS)
def attach_files(http: httpx.Client, jira: JIRA, case_key: str, files: list[dict[str, Any]],
                 max_bytes: int, scan: bool) -> FilesOutcome:
    """Fetch these files (none on the case yet) and attach each, up to `max_bytes`.

    A file that cannot be fetched is noted and tried again by the next backup; it never fails
    the backup (the transcript matters more than any one file). The file's bytes stay in here.
    """
    outcome = FilesOutcome()
    for file in files:
        note = _fetch_and_attach(http, jira, case_key, file, jira_name(file),
                                 _download_url(file), max_bytes, scan)
        outcome.attached += note.startswith("attached")
        outcome.notes[str(file["id"])] = note
    return outcome


def _fetch_and_attach(http: httpx.Client, jira: JIRA, case_key: str, file: Mapping[str, Any],
                      name: str, url: str, max_bytes: int, scan: bool) -> str:
    try:
        content = download_file(http, url, max_bytes)
    except FileTooLarge:
        return f"not attached: over the {_megabytes(max_bytes)} cap"
    except httpx.HTTPStatusError as exc:
        return f"not attached: could not be fetched (HTTP {exc.response.status_code})"
    except httpx.HTTPError as exc:
        return f"not attached: could not be fetched ({type(exc).__name__})"
    if scan and is_text(file) and holds_secret(content):
        return "not attached: it holds a secret"
    jira.add_attachment(case_key, io.BytesIO(content), filename=name)
    return f"attached to Jira as {name}"
