"""conversations.history and conversations.replies, with Slack's windowing and cursors."""

from __future__ import annotations

import copy
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Any

from sandbox.ids import ts_micros
from sandbox.pagination import decode_cursor, encode_cursor
from sandbox.slack_common import channel_arg, clamp
from sandbox.slack_params import Params, SlackError
from sandbox.slack_store import Channel, Message, Workspace

HISTORY_DEFAULT, HISTORY_MAX = 100, 999
REPLIES_DEFAULT, REPLIES_MAX = 1000, 1000


class _Window:
    """oldest/latest bounds: exclusive unless `inclusive`."""

    def __init__(self, p: Params) -> None:
        self.oldest: int = _bound(p, "oldest", 0) or 0
        self.latest = _bound(p, "latest", None)
        self.inclusive = p.get_bool("inclusive")

    def index_range(self, keys: list[int]) -> tuple[int, int]:
        """[lo, hi) of the sorted keys inside the window."""
        if self.inclusive:
            lo = bisect_left(keys, self.oldest)
            hi = len(keys) if self.latest is None else bisect_right(keys, self.latest)
        else:
            lo = bisect_right(keys, self.oldest)
            hi = len(keys) if self.latest is None else bisect_left(keys, self.latest)
        return lo, max(lo, hi)

    def __contains__(self, message: Message) -> bool:
        at = ts_micros(message["ts"])
        if self.inclusive:
            return at >= self.oldest and (self.latest is None or at <= self.latest)
        return at > self.oldest and (self.latest is None or at < self.latest)


def _bound(p: Params, name: str, default: int | None) -> int | None:
    value = p.get_str(name)
    if not value:
        return default
    try:
        return ts_micros(value)
    except ValueError as exc:
        raise SlackError(f"invalid_ts_{name}") from exc


def _readable(ws: Workspace, p: Params) -> Channel:
    channel = channel_arg(ws, p)
    if channel.is_private and ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    return channel


def history(ws: Workspace, p: Params) -> dict[str, Any]:
    channel = _readable(ws, p)
    window = _Window(p)
    limit = clamp(p.get_int("limit", 0), HISTORY_DEFAULT, HISTORY_MAX)
    lo, hi = window.index_range(channel.top_keys)
    cursor = p.get_str("cursor")
    if cursor:
        # Resume at the first message not yet returned (ts at or before the cursor's).
        hi = min(hi, bisect_right(channel.top_keys, _cursor_micros(cursor)))
    first = max(lo, hi - limit)
    page = channel.top[first:hi][::-1]
    rest_ts = channel.top[first - 1]["ts"] if first > lo else None
    return _answer(page, rest_ts)


def replies(ws: Workspace, p: Params) -> dict[str, Any]:
    channel = _readable(ws, p)
    ts = p.get_str("ts") or ""
    message = channel.by_ts.get(ts)
    if message is None:
        raise SlackError("thread_not_found")
    root_ts = message.get("thread_ts") or message["ts"]
    window = _Window(p)
    limit = clamp(p.get_int("limit", 0), REPLIES_DEFAULT, REPLIES_MAX)
    oldest_first = [m for m in channel.thread(root_ts) if m in window]
    cursor = p.get_str("cursor")
    if cursor:
        start = _cursor_micros(cursor)
        oldest_first = [m for m in oldest_first if ts_micros(m["ts"]) >= start]
    page, rest = oldest_first[:limit], oldest_first[limit:]
    return _answer(page, rest[0]["ts"] if rest else None)


def _cursor_micros(cursor: str) -> int:
    try:
        return ts_micros(decode_cursor(cursor, "next_ts"))
    except ValueError as exc:
        raise SlackError("invalid_cursor") from exc


def _answer(page: list[Message], next_ts: str | None) -> dict[str, Any]:
    """`next_ts` is the first message of the next page, or None when done."""
    return {
        "messages": _copies(page),
        "has_more": next_ts is not None,
        "pin_count": 0,
        "response_metadata": {
            "next_cursor": encode_cursor("next_ts", next_ts) if next_ts else "",
        },
    }


def _copies(messages: Iterable[Message]) -> list[Message]:
    # Answers must not alias the stored dicts: the response is serialised after the lock.
    return [copy.deepcopy(m) for m in messages]
