"""What a backup must read and what it may skip, and whether the transcript is complete (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tasks.transcript_merge import is_reply


def _after(ts: str, cursor: str) -> bool:
    return not cursor or float(ts) > float(cursor)


def threads_to_read(history: Iterable[Mapping[str, Any]], cursor: str,
                    every_thread: bool) -> list[str]:
    """Parents whose thread has something the transcript lacks: a `latest_reply` past the
    cursor (or every thread, for the final backup and a transcript older than replies)."""
    return [str(m["ts"]) for m in history
            if m.get("reply_count") and m.get("thread_ts") == m["ts"]
            and (every_thread or _after(str(m.get("latest_reply") or m["ts"]), cursor))]


def cursor_after(history: Iterable[Mapping[str, Any]], replies: Iterable[Mapping[str, Any]],
                 previous: str) -> str:
    """The newest ts this backup saw, counting every parent's `latest_reply`: a reply newer
    than this is one the next backup has not read, and its parent's `latest_reply` says so."""
    seen = [float(previous)] if previous else []
    marks = {previous} if previous else set()
    for m in [*history, *replies]:
        for ts in (m.get("ts"), m.get("latest_reply")):
            if ts:
                seen.append(float(ts))
                marks.add(str(ts))
    if not seen:
        return ""
    newest = max(seen)
    return next(t for t in marks if float(t) == newest)


@dataclass
class Completeness:
    messages: int = 0
    replies: int = 0
    files: int = 0
    missing: list[str] = field(default_factory=list)  # "message 1700000000.000100", ...

    @property
    def complete(self) -> bool:
        return not self.missing

    def summary(self) -> str:
        head = f"{self.messages} messages, {self.replies} replies, {self.files} files"
        if self.complete:
            return f"complete: {head}; 0 missing"
        shown = ", ".join(self.missing[:20]) + (" …" if len(self.missing) > 20 else "")
        return f"INCOMPLETE: {head}; {len(self.missing)} missing: {shown}"


def check_complete(listing: Iterable[Mapping[str, Any]], transcript: pd.DataFrame,
                   up_to: str) -> Completeness:
    """Everything Slack lists now (people's messages and replies up to `up_to`) against the
    transcript: each message a row, each file named in its row's `files` cell."""
    rows = set(transcript["ts"].astype(str))
    files_cells = "\n".join(transcript["files"].astype(str))
    result = Completeness()
    for m in listing:
        ts = str(m["ts"])
        if up_to and float(ts) > float(up_to):
            continue
        kind = "reply" if is_reply({"ts": ts, "thread_ts": m.get("thread_ts"),
                                   "subtype": m.get("subtype")}) else "message"
        if kind == "reply":
            result.replies += 1
        else:
            result.messages += 1
        if ts not in rows:
            result.missing.append(f"{kind} {ts}")
        for f in m.get("files") or []:
            result.files += 1
            key = str(f.get("permalink") or f.get("id") or "")
            if f"<{key}>" not in files_cells:
                result.missing.append(f"file {f.get('id')} of {kind} {ts}")
    return result
