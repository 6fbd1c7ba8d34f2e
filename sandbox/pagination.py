"""Slack-style opaque cursors: base64 of "kind:value", as Slack's own cursors are."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import TypeVar

from sandbox.slack_params import SlackError

T = TypeVar("T")


def encode_cursor(kind: str, value: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(cursor: str, kind: str) -> str:
    """The value inside a cursor of this kind; invalid_cursor for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise SlackError("invalid_cursor") from exc
    prefix, sep, value = text.partition(":")
    if prefix != kind or not sep or not value:
        raise SlackError("invalid_cursor")
    return value


def offset_page(items: Sequence[T], cursor: str | None, limit: int) -> tuple[list[T], str]:
    """One page of a stable list, and the next cursor ("" at the end)."""
    start = 0
    if cursor:
        try:
            start = int(decode_cursor(cursor, "offset"))
        except ValueError as exc:
            raise SlackError("invalid_cursor") from exc
        if start < 0 or start > len(items):
            raise SlackError("invalid_cursor")
    page = list(items[start:start + limit])
    end = start + len(page)
    return page, encode_cursor("offset", str(end)) if end < len(items) else ""
