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

import numpy as np
import pandas as pd

from tasks.redaction import MARKER_PREFIX, count_markers, redact_many
from tasks.transcript import COLUMNS, unneutralise

TOMBSTONE = "tombstone"
# Columns where people's words (and so their secrets) can be.
TEXT_COLUMNS = ("text", "text_raw", "text_first_stored", "files")
# json.dumps(..., ensure_ascii=False) builds an encoder per call; one shared is the same text.
_FINGERPRINT_JSON = json.JSONEncoder(ensure_ascii=False)


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


def _truthy(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Cell by cell, as `bool(cell)` says ("" is empty)."""
    return values.astype(bool)


def reply_mask(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    """`is_reply` for every row at once."""
    thread = frame["thread_ts"].to_numpy(dtype=object)
    own = np.not_equal(thread, frame["ts"].to_numpy(dtype=object))
    loud = np.equal(frame["subtype"].to_numpy(dtype=object), "thread_broadcast")
    mask: np.ndarray[Any, Any] = _truthy(thread) & own.astype(bool) & ~loud.astype(bool)
    return mask


def _update_known(cells: dict[str, np.ndarray[Any, Any]], at: np.ndarray[Any, Any],
                  new: pd.DataFrame, gone: str, changes: Changes) -> None:
    """Stored rows at positions `at` take what Slack lists now for them (`new`, aligned)."""
    tomb = new["subtype"].to_numpy(dtype=object) == TOMBSTONE
    # A parent deleted while its thread lives on: only marked, its text stays.
    buried = at[tomb][~_truthy(cells["deleted_at"][at[tomb]])]
    cells["deleted_at"][buried] = gone
    changes.deleted += len(buried)
    at, live = at[~tomb], {c: new[c].to_numpy(dtype=object)[~tomb] for c in new.columns}
    edited = live["text"] != cells["text"][at]
    first = at[edited & ~_truthy(cells["text_first_stored"][at])]
    cells["text_first_stored"][first] = cells["text"][first]
    cells["text"][at[edited]] = live["text"][edited]
    changes.edited += int(edited.sum())
    changes.edited_ts += [str(ts) for ts in cells["ts"][at[edited]]]
    for column in ("edited_at", "thread_ts"):  # Slack's value, or the stored one
        cells[column][at] = np.where(_truthy(live[column]), live[column], cells[column][at])
    for column in ("text_raw", "subtype", "reactions", "flagged"):
        cells[column][at] = live[column]
    cells["files"][at] = [union_files(str(old), str(now))
                          for old, now in zip(cells["files"][at], live["files"], strict=True)]


def apply_backup(stored: pd.DataFrame, fresh: pd.DataFrame, listed: set[str],
                 reread_threads: set[str], seen_at: str) -> tuple[pd.DataFrame, Changes]:
    """Merge a backup into the stored transcript (both neutralised, ts unique in each).

    `listed`: every ts Slack listed in this backup (irbot's own posts included, so that replies
    to them keep their parent); `reread_threads`: the threads read whole, whose replies missing
    from `listed` were deleted. Column at a time: a backup re-lists every message it stored.
    """
    changes, gone = Changes(), seen_missing(seen_at)
    # Extra columns (a newer irbot's) come along from whichever frame leads, as rows would.
    lead = stored if len(stored) else fresh
    columns = COLUMNS + [c for c in lead.columns if c not in COLUMNS and len(lead)]
    cells = {c: (stored[c].to_numpy(dtype=object) if c in stored.columns
                 else np.full(len(stored), "", dtype=object)).copy() for c in columns}
    at = pd.Index(stored["ts"]).get_indexer(fresh["ts"])
    known = at >= 0
    _update_known(cells, at[known], fresh[known], gone, changes)

    added = fresh[~known].reindex(columns=columns, fill_value="")
    added.loc[added["subtype"] == TOMBSTONE, "deleted_at"] = gone
    replies = int(reply_mask(added).sum())
    changes.new_replies += replies
    changes.new_messages += len(added) - replies

    frame = pd.concat([pd.DataFrame(cells), added.astype(object)], ignore_index=True)
    missing = ~frame["ts"].isin(listed).to_numpy() & ~_truthy(
        frame["deleted_at"].to_numpy(dtype=object))
    # The channel was read whole; a thread only when it was re-read, or when its parent is gone
    # too (Slack drops a thread with its last reply).
    thread = frame["thread_ts"]
    missing &= ~reply_mask(frame) | thread.isin(reread_threads).to_numpy() | ~thread.isin(
        listed).to_numpy()
    frame.loc[missing, "deleted_at"] = gone
    changes.deleted += int(missing.sum())
    order = frame["ts"].astype(float).argsort(kind="stable")
    return frame.iloc[order.to_numpy()].reset_index(drop=True), changes


def redact_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """A stored transcript with any secret an earlier version stored replaced by its marker."""
    out = frame.copy()
    masked = 0
    for column in TEXT_COLUMNS:
        cells = [str(cell) for cell in out[column]]
        for i, (text, count) in redact_many(cells).items():
            cells[i] = text
            masked += count
        out[column] = cells
    return out, masked


def masked_in(frame: pd.DataFrame) -> int:
    """Secrets masked in a transcript's messages and file names (a file's name shows again in
    its permalink: counted once)."""
    files = [str(cell) for cell in frame["files"] if MARKER_PREFIX in str(cell)]
    names = (line.split(" (", 1)[0] for cell in files for line in cell.split("\n"))
    return count_markers(frame["text"].astype(str)) + count_markers(names)


def fingerprint(messages: Iterable[Mapping[str, Any]]) -> str:
    """What the transcript stores of these messages, hashed: equal means nothing to store.

    Thread counters are left out: replies are fetched when `latest_reply` moves, and a deleted
    reply alone changes nothing a backup would store before the final one.
    """
    digest = hashlib.sha256()
    for msg in messages:
        digest.update(_FINGERPRINT_JSON.encode([
            msg.get("ts"), msg.get("text"), (msg.get("edited") or {}).get("ts"),
            msg.get("subtype"), msg.get("thread_ts"),
            [(f.get("id"), f.get("mode")) for f in msg.get("files") or []],
            [(r.get("name"), r.get("count")) for r in msg.get("reactions") or []],
            bool(msg.get("pinned_to")),
        ]).encode())
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
