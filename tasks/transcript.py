"""The transcript: Slack messages → DataFrame → safe CSV (pure pandas code).

Merging a backup into what Jira already holds lives in tasks.transcript_merge.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

# The first eight are what irbot wrote before threads, edits and files were recorded; a file in
# that format reads with the others empty (see read_csv).
COLUMNS = ["ts", "datetime_utc", "user_id", "user_name", "text", "text_raw", "thread_ts",
           "subtype", "edited_at", "deleted_at", "text_first_stored", "files", "reactions",
           "flagged"]
# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(_FORMULA_STARTS)
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
        text = str(msg.get("text") or "")
        if "<@" in text:  # most messages mention no one: skip the regex
            ids.update(m.group(1) for m in _USER_MENTION.finditer(text))
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
    if "<" not in raw and "&" not in raw:  # plain chat, most of a channel: nothing to render
        return raw
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


def utc_times(stamps: Sequence[str]) -> list[str]:
    """`utc_time` of many ts at once (numpy formats them: a datetime per message costs more
    than the rest of the row)."""
    micros = np.fromiter((int(seconds) * 1_000_000 + int(fraction[:6].ljust(6, "0"))
                          for seconds, _, fraction in (ts.partition(".") for ts in stamps)),
                         dtype=np.int64, count=len(stamps))
    return [f"{moment}Z" for moment in np.datetime_as_string(
        micros.astype("datetime64[us]"), unit="us").tolist()]


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
    rows = list(messages)
    stamps = [str(msg["ts"]) for msg in rows]
    raw = [str(msg.get("text") or "") for msg in rows]
    # Built column by column: one pass per column over plain lists, no dict per row.
    columns: dict[str, list[str]] = {
        "ts": stamps,
        "datetime_utc": utc_times(stamps),
        "user_id": [str(msg.get("user") or msg.get("bot_id") or "") for msg in rows],
        "user_name": [author_name(msg, names) for msg in rows],
        "text": [render_text(text, names) for text in raw],
        "text_raw": raw,
        "thread_ts": [str(msg.get("thread_ts") or "") for msg in rows],
        "subtype": [str(msg.get("subtype") or "") for msg in rows],
        "edited_at": [utc_time(str(msg["edited"]["ts"])) if (msg.get("edited") or {}).get("ts")
                      else "" for msg in rows],
        "deleted_at": [""] * len(rows),
        "text_first_stored": [""] * len(rows),
        "files": ["\n".join(file_line(f, notes.get(str(f.get("id")), ""))
                            for f in msg["files"]) if msg.get("files") else ""
                  for msg in rows],
        "reactions": [reactions_cell(msg) if msg.get("reactions") else "" for msg in rows],
        "flagged": [flagged_cell(msg, timeline_emoji) if msg.get("reactions")
                    or msg.get("pinned_to") else "" for msg in rows],
    }
    return pd.DataFrame({c: pd.Series(columns[c], dtype=object) for c in COLUMNS})


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
    order = merged["ts"].astype(float).argsort(kind="stable")
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
        values = out[column].to_numpy(dtype=object)
        # A first character looked up in a set: the cheapest test per cell in Python.
        risky = np.fromiter((isinstance(v, str) and v[:1] in _FORMULA_FIRST for v in values),
                            dtype=bool, count=len(values))
        if risky.any():
            values = values.copy()
            values[risky] = ["'" + v for v in values[risky]]
            out[column] = pd.Series(values, index=out.index, dtype=object)
    return out


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with our columns first."""
    extra = [c for c in frame.columns if c not in COLUMNS]
    # CRLF rows (RFC 4180) make the writer quote any cell holding a bare CR, which a "\n"
    # terminator would leave unquoted and so split into a bogus row when read back.
    return frame[COLUMNS + extra].to_csv(index=False, lineterminator="\r\n").encode("utf-8")
