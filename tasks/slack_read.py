"""Reading a channel for its transcript: history, thread replies, file downloads (Slack tasks).

Secrets are masked here, inside the tasks that read them, so that no task result, log line or
later step ever holds the unmasked text (tasks.redaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx
from prefect import task
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tasks.redaction import redact_many
from tasks.retry import TASK_OPTIONS
from tasks.slack import HISTORY_PAGE, error_code

REPLIES_PAGE = 1000  # conversations.replies' maximum page
# Only what the transcript, the fingerprint and the skip of irbot's own posts need: blocks and
# legacy attachments repeat the text (and any secret in it) and are never read.
_KEPT = ("ts", "type", "subtype", "user", "bot_id", "bot_profile", "username", "text",
         "thread_ts", "reply_count", "latest_reply", "edited", "files", "reactions",
         "pinned_to", "metadata")
_FILE_KEPT = ("id", "name", "title", "mimetype", "size", "mode", "permalink",
              "url_private", "url_private_download")


def kept_fields(message: dict[str, Any]) -> dict[str, Any]:
    """The fields irbot keeps of a message (secrets still in: see `masked`)."""
    out = {k: message[k] for k in _KEPT if k in message}
    if out.get("files"):
        out["files"] = [{k: f[k] for k in _FILE_KEPT if k in f} for f in out["files"]]
    return out


def masked(messages: list[dict[str, Any]], mask: bool) -> list[dict[str, Any]]:
    """The messages with secrets in their text and file names masked, in place; all of a read
    at once, so the gate in front of the detectors scans them in one pass."""
    if not mask:
        return messages
    owners: list[dict[str, Any]] = [m for m in messages if m.get("text")]
    keys = ["text"] * len(owners)
    files = [f for m in messages if m.get("files") for f in m["files"]]
    # The permalink holds the file's name too. (The download URLs are kept as they are: they
    # go back to Slack only, from inside the task that downloads.)
    for key in ("name", "title", "permalink"):
        held = [f for f in files if f.get(key)]
        owners += held
        keys += [key] * len(held)
    texts = [str(owner[key]) for owner, key in zip(owners, keys, strict=True)]
    for i, (text, _) in redact_many(texts).items():
        owners[i][keys[i]] = text
    return messages


def _pages(call: Callable[..., Any], **params: Any) -> Iterable[dict[str, Any]]:
    cursor: str | None = None
    while True:
        resp = call(**params, cursor=cursor)
        yield from resp["messages"]
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return


@task(name="slack-read-history", **TASK_OPTIONS)
def read_history(client: WebClient, channel_id: str, mask: bool) -> list[dict[str, Any]]:
    """Every top-level message of the channel (⌈n/999⌉ pages), oldest first.

    Read whole on every backup: it is the only way to see edits, deletions, reactions and
    replies to old threads (each parent's `latest_reply`)."""
    found = masked([kept_fields(m) for m in _pages(
        client.conversations_history, channel=channel_id, limit=HISTORY_PAGE,
        include_all_metadata=True)], mask)
    found.sort(key=lambda m: float(m["ts"]))
    return found


@task(name="slack-read-replies", **TASK_OPTIONS)
def read_replies(client: WebClient, channel_id: str, threads: list[str],
                 mask: bool) -> list[dict[str, Any]]:
    """Every reply of these threads (parents left out), oldest first; a thread deleted
    meanwhile has none."""
    found: dict[str, dict[str, Any]] = {}
    for parent in threads:
        try:
            for message in _pages(client.conversations_replies, channel=channel_id,
                                  ts=parent, limit=REPLIES_PAGE, include_all_metadata=True):
                if message["ts"] != parent:
                    found[str(message["ts"])] = kept_fields(message)
        except SlackApiError as exc:
            if error_code(exc) != "thread_not_found":
                raise
    return sorted(masked(list(found.values()), mask), key=lambda m: float(m["ts"]))


class FileTooLarge(Exception):
    """The download outgrew the cap (Slack's `size` may be missing or wrong)."""


def download_file(http: httpx.Client, url: str, max_bytes: int) -> bytes:
    """A file's bytes through the bot token (`http` carries it), refused beyond `max_bytes`."""
    chunks: list[bytes] = []
    size = 0
    with http.stream("GET", url, follow_redirects=True) as resp:
        resp.raise_for_status()
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FileTooLarge
            chunks.append(chunk)
    return b"".join(chunks)
