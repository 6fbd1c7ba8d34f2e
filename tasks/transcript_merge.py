"""A backup merged into the stored transcript without losing anything (pure pandas code).

What Slack lists now is merged row by row into what Jira holds: a new ts is a new row; a known
one takes the latest text (the text first stored moves to `text_first_stored`), reactions and
flags, and gains files; a stored row Slack no longer lists is marked deleted, never dropped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tasks.redaction import count_markers, redact
from tasks.transcript import frame_of, unneutralise

TOMBSTONE = "tombstone"
# Columns where people's words (and so their secrets) can be.
TEXT_COLUMNS = ("text", "text_raw", "text_first_stored", "files")


def seen_missing(seen_at: str) -> str:
    """Slack does not say when a message was deleted: only when a backup saw it gone."""
    return f"deleted, seen missing at {seen_at}"


def is_reply(row: Mapping[str, Any]) -> bool:
    """A thread reply listed only in its thread (a broadcast is listed in the channel too)."""
    thread_ts = str(row.get("thread_ts") or "")
    return bool(thread_ts) and thread_ts != str(row["ts"]) and (
        row.get("subtype") != "thread_broadcast")


@dataclass
class Changes:
    """What one backup changed in the transcript (counts only: never any text)."""

    new_messages: int = 0
    new_replies: int = 0
    edited: int = 0
    deleted: int = 0
    edited_ts: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.new_messages or self.new_replies or self.edited or self.deleted)


def _file_key(line: str) -> str:
    start, end = line.find("<"), line.find(">")
    return line[start + 1:end] if 0 <= start < end else line


def union_files(old: str, new: str) -> str:
    """Every file a message ever had; a file listed again takes its latest outcome."""
    if not old or old == new:
        return new or old
    latest = {_file_key(line): line for line in new.split("\n") if line}
    kept = [latest.pop(_file_key(line), line) for line in old.split("\n") if line]
    return "\n".join([*kept, *latest.values()])


def _updated(old: dict[str, Any], new: Mapping[str, Any], seen_at: str,
             changes: Changes) -> dict[str, Any]:
    out = dict(old)
    if new["subtype"] == TOMBSTONE:  # a parent deleted while its thread lives on
        if not old["deleted_at"]:
            out["deleted_at"] = seen_missing(seen_at)
            changes.deleted += 1
        return out
    if new["text"] != old["text"]:
        if not old["text_first_stored"]:
            out["text_first_stored"] = old["text"]
        out["text"] = new["text"]
        changes.edited += 1
        changes.edited_ts.append(str(old["ts"]))
    out["text_raw"] = new["text_raw"]
    out["edited_at"] = new["edited_at"] or old["edited_at"]
    out["thread_ts"] = new["thread_ts"] or old["thread_ts"]
    out["subtype"] = new["subtype"]
    out["files"] = union_files(str(old["files"]), str(new["files"]))
    out["reactions"], out["flagged"] = new["reactions"], new["flagged"]
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts (pandas' own to_dict boxes every cell: ten times slower)."""
    columns = [str(c) for c in frame.columns]
    return [dict(zip(columns, row, strict=True))
            for row in zip(*(frame[c].tolist() for c in columns), strict=True)]


def apply_backup(stored: pd.DataFrame, fresh: pd.DataFrame, listed: set[str],
                 reread_threads: set[str], seen_at: str) -> tuple[pd.DataFrame, Changes]:
    """Merge a backup into the stored transcript (both neutralised, ts unique in each).

    `listed`: every ts Slack listed in this backup (irbot's own posts included, so that replies
    to them keep their parent); `reread_threads`: the threads read whole, whose replies missing
    from `listed` were deleted.
    """
    changes = Changes()
    rows = {str(r["ts"]): r for r in _records(stored)}
    for new in _records(fresh):
        ts = str(new["ts"])
        old = rows.get(ts)
        if old is not None:
            rows[ts] = _updated(old, new, seen_at, changes)
            continue
        if new["subtype"] == TOMBSTONE:
            new["deleted_at"] = seen_missing(seen_at)
        rows[ts] = new
        if is_reply(new):
            changes.new_replies += 1
        else:
            changes.new_messages += 1
    for ts, row in rows.items():
        if ts in listed or row["deleted_at"]:
            continue
        # The channel was read whole; a thread only when it was re-read, or when its parent
        # is gone too (Slack drops a thread with its last reply).
        if not is_reply(row) or row["thread_ts"] in reread_threads or (
                row["thread_ts"] not in listed):
            row["deleted_at"] = seen_missing(seen_at)
            changes.deleted += 1
    frame = frame_of(list(rows.values()))
    order = frame["ts"].map(float).argsort(kind="stable")
    return frame.iloc[order.to_numpy()].reset_index(drop=True), changes


def redact_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """A stored transcript with any secret an earlier version stored replaced by its marker."""
    out = frame.copy()
    masked = 0
    for column in TEXT_COLUMNS:
        results = [redact(str(cell)) for cell in out[column]]
        masked += sum(n for _, n in results)
        out[column] = [text for text, _ in results]
    return out, masked


def masked_in(frame: pd.DataFrame) -> int:
    """Secrets masked in a transcript's messages and file names (a file's name shows again in
    its permalink: counted once)."""
    names = (line.split(" (", 1)[0] for cell in frame["files"].astype(str)
             for line in cell.split("\n"))
    return count_markers(frame["text"].astype(str)) + count_markers(names)


def fingerprint(messages: Iterable[Mapping[str, Any]]) -> str:
    """What the transcript stores of these messages, hashed: equal means nothing to store.

    Thread counters are left out: replies are fetched when `latest_reply` moves, and a deleted
    reply alone changes nothing a backup would store before the final one.
    """
    digest = hashlib.sha256()
    for msg in messages:
        digest.update(json.dumps([
            msg.get("ts"), msg.get("text"), (msg.get("edited") or {}).get("ts"),
            msg.get("subtype"), msg.get("thread_ts"),
            [(f.get("id"), f.get("mode")) for f in msg.get("files") or []],
            [(r.get("name"), r.get("count")) for r in msg.get("reactions") or []],
            bool(msg.get("pinned_to")),
        ], ensure_ascii=False).encode())
    return digest.hexdigest()


def timeline(frame: pd.DataFrame) -> str | None:
    """The flagged messages in order, with times and names, as one Jira comment."""
    flagged = frame[frame["flagged"].astype(str) != ""]
    if flagged.empty:
        return None
    lines = ["Timeline (messages flagged in Slack with the timeline emoji or pinned):"]
    for row in flagged.to_dict("records"):
        when = str(row["datetime_utc"])[:19].replace("T", " ")
        gone = " (deleted later)" if row["deleted_at"] else ""
        text = " ".join(unneutralise(str(row["text"])).split())
        lines.append(f"* {when} UTC, {unneutralise(str(row['user_name']))}: {text}{gone}")
    return "\n".join(lines)
