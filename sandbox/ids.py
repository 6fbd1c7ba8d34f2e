"""Identifier and timestamp generators shaped like Slack's and Jira's."""

from __future__ import annotations

import random
import string
import time
import uuid
from collections.abc import Container
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

_ID_ALPHABET = string.ascii_uppercase + string.digits


def new_slack_id(prefix: str, taken: Container[str], length: int = 10) -> str:
    """A Slack-looking id ("U", "C", "D", "V" + uppercase alnum) not yet in `taken`."""
    while True:
        candidate = prefix + "".join(random.choices(_ID_ALPHABET, k=length))
        if candidate not in taken:
            return candidate


def new_trigger_id() -> str:
    """Same three-part shape as Slack's trigger ids; the uuid makes it unguessable."""
    return f"{int(time.time() * 1000)}.{random.randint(10**9, 10**10 - 1)}.{uuid.uuid4().hex}"


class TsClock:
    """Slack message timestamps: wall-clock based, strictly increasing, 6 decimals.

    Slack uses ts as a message's primary key, so two messages must never share one even when
    posted within the same microsecond; the clock then moves forward by 1 µs.
    """

    def __init__(self) -> None:
        self._last_us = 0

    def next(self) -> str:
        now_us = time.time_ns() // 1000
        self._last_us = max(now_us, self._last_us + 1)
        return format_ts(self._last_us)


def format_ts(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def ts_micros(ts: str) -> int:
    """Exact integer microseconds of a ts string (floats would blur equal-looking values).

    Raises ValueError for anything that is not a number.
    """
    try:
        value = Decimal(ts.strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a timestamp: {ts!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a timestamp: {ts!r}")
    return int(value * 1_000_000)


def jira_time(at: float | None = None) -> str:
    """Jira's timestamp format, e.g. 2024-05-01T12:00:00.000+0000."""
    moment = datetime.fromtimestamp(time.time() if at is None else at, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
