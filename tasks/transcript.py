"""The transcript: Slack messages → DataFrame → safe CSV (pure pandas code).

Merging a backup into what Jira already holds lives in tasks.transcript_merge.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

# The first eight are what irbot wrote before threads, edits and files were recorded; a file in
# that format reads with the others empty (see read_csv).
COLUMNS = ["ts", "datetime_utc", "user_id", "user_name", "text", "text_raw", "thread_ts",
           "subtype", "edited_at", "deleted_at", "text_first_stored", "files", "reactions",
           "flagged"]
# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL_MENTION = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL_MENTION = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM_MENTION = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")


def author_ids(messages: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every user who wrote or is mentioned in these messages."""
    ids: set[str] = set()
    for msg in messages:
        if msg.get("user") and not msg.get("bot_id"):
            ids.add(str(msg["user"]))
        ids.update(m.group(1) for m in _USER_MENTION.finditer(str(msg.get("text") or "")))
    return ids


def known_names(frame: pd.DataFrame) -> dict[str, str]:
    """user_id → user_name of the people already in a transcript (neutralising undone)."""
    people = frame[frame["user_id"].str.startswith(("U", "W"))]
    return {str(uid): unneutralise(str(name))
            for uid, name in zip(people["user_id"], people["user_name"], strict=True) if name}


def unneutralise(value: str) -> str:
    """A cell as the person wrote it (neutralise undone)."""
    return value[1:] if value[:1] == "'" and value[1:].startswith(_FORMULA_STARTS) else value


def render_text(raw: str, names: Mapping[str, str]) -> str:
    """Slack markup to what people saw: mentions as names, entities unescaped."""
    text = _USER_MENTION.sub(lambda m: "@" + names.get(m.group(1), m.group(2) or m.group(1)), raw)
    text = _CHANNEL_MENTION.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL_MENTION.sub(lambda m: "@" + m.group(1), text)
    text = _SUBTEAM_MENTION.sub(lambda m: "@" + (m.group(1) or "group").lstrip("@"), text)
    return html.unescape(text)


def author_name(msg: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """A person's name, or a bot's profile/username."""
    if msg.get("bot_id"):
        profile = msg.get("bot_profile") or {}
        return str(profile.get("name") or msg.get("username") or msg["bot_id"])
    user = str(msg.get("user") or "")
    return names.get(user, user)


def utc_time(ts: str) -> str:
    """ISO 8601 UTC time of a Slack ts, to the microsecond."""
    seconds, _, micros = ts.partition(".")
    moment = datetime.fromtimestamp(int(seconds), UTC).replace(
        microsecond=int(micros[:6].ljust(6, "0") or 0))
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def file_line(file: Mapping[str, Any], note: str) -> str:
    """One file of a message, as the `files` cell lists it: name, type, permalink, outcome."""
    if file.get("mode") == "hidden_by_limit":
        return f"(a file Slack hides beyond the plan's limit) <{file.get('id', '?')}>: {note}"
    name = str(file.get("name") or file.get("title") or file.get("id") or "file")
    kind = str(file.get("mimetype") or "unknown type")
    link = str(file.get("permalink") or file.get("id") or "")
    return f"{name} ({kind}) <{link}>" + (f": {note}" if note else "")


def reactions_cell(msg: Mapping[str, Any]) -> str:
    """':eyes: 3, :white_check_mark: 1'."""
    return ", ".join(f":{r.get('name')}: {r.get('count', len(r.get('users') or []))}"
                     for r in msg.get("reactions") or [])


def flagged_cell(msg: Mapping[str, Any], timeline_emoji: str) -> str:
    """Why a message belongs on the timeline ('pinned', ':pushpin:'), or '' when it does not."""
    why = ["pinned"] if msg.get("pinned_to") else []
    if any(r.get("name") == timeline_emoji for r in msg.get("reactions") or []):
        why.append(f":{timeline_emoji}:")
    return ", ".join(why)


def messages_to_frame(messages: Iterable[Mapping[str, Any]], names: Mapping[str, str],
                      timeline_emoji: str = "pushpin",
                      file_notes: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per message, every cell a string (ts exactly as Slack gave it).

    `file_notes` says, per Slack file id, what became of the file (attached, too large, ...).
    """
    notes = file_notes or {}
    records = [{
        "ts": str(msg["ts"]),
        "datetime_utc": utc_time(str(msg["ts"])),
        "user_id": str(msg.get("user") or msg.get("bot_id") or ""),
        "user_name": author_name(msg, names),
        "text": render_text(str(msg.get("text") or ""), names),
        "text_raw": str(msg.get("text") or ""),
        "thread_ts": str(msg.get("thread_ts") or ""),
        "subtype": str(msg.get("subtype") or ""),
        "edited_at": utc_time(str(msg["edited"]["ts"])) if (msg.get("edited") or {}).get("ts")
        else "",
        "deleted_at": "",
        "text_first_stored": "",
        "files": "\n".join(file_line(f, notes.get(str(f.get("id")), ""))
                           for f in msg.get("files") or []),
        "reactions": reactions_cell(msg),
        "flagged": flagged_cell(msg, timeline_emoji),
    } for msg in messages]
    return frame_of(records)


def frame_of(records: list[dict[str, Any]]) -> pd.DataFrame:
    """A transcript frame from rows (column by column: much faster than from row dicts)."""
    extra = [c for c in (records[0] if records else {}) if c not in COLUMNS]
    return pd.DataFrame({c: pd.Series([r.get(c, "") for r in records], dtype=object)
                         for c in COLUMNS + extra})


def read_csv(data: bytes) -> pd.DataFrame:
    """A stored transcript, strings kept exactly (no float ts, no NaN)."""
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8")
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    return frame.astype(object)


def merge(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """All rows once each (first copy of a ts wins), in Slack order."""
    parts = [f for f in frames if not f.empty]
    if not parts:
        return pd.DataFrame(columns=COLUMNS, dtype=object)
    merged = pd.concat(parts, ignore_index=True).drop_duplicates(subset="ts", keep="first")
    order = merged["ts"].map(float).argsort(kind="stable")
    return merged.iloc[order.to_numpy()].reset_index(drop=True)


def neutralise_cell(value: Any) -> Any:
    """Prefix a formula-looking string with ' so spreadsheets show it as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Neutralise every cell (idempotent: a neutralised cell starts with ')."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_STARTS))
        if risky.any():
            out[column] = values.where(~risky.astype(bool), "'" + values.astype(str))
    return out


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with our columns first."""
    extra = [c for c in frame.columns if c not in COLUMNS]
    # CRLF rows (RFC 4180) make the writer quote any cell holding a bare CR, which a "\n"
    # terminator would leave unquoted and so split into a bogus row when read back.
    return frame[COLUMNS + extra].to_csv(index=False, lineterminator="\r\n").encode("utf-8")
