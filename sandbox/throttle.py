"""Slack-style rate limits: a budget of calls per method per window, 429 beyond it.

Slack's Tier 3 (conversations.history among others) allows about 50 calls a minute per method
and answers every call beyond with HTTP 429, `Retry-After: <whole seconds>` and
`{"ok": false, "error": "ratelimited"}`. slack-sdk's `RateLimitErrorRetryHandler` reads that
header with `int()` (a "0.4" would raise in it) and sleeps it plus up to 1 s of jitter, so
Retry-After here is always a whole number >= 1, rounded up.

Windows are fixed: one opens at the first call after the previous one closed, and a client that
honours Retry-After always lands in a new window. So N calls need at least
`(ceil(N / limit) - 1) * window_seconds`; each refused window adds under 2 s (about 1 s on
average): the rounding up plus the client's jitter. To scale a benchmark down, shrink limit and
window together (50 per 60 s is the real tier; 10 per 12 s keeps the rate): the floor per call
stays the same, the per-window overhead weighs 5x more, so keep windows >= 10 s when the floor
is what you measure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class _Window:
    limit: int
    seconds: float
    opened: float | None = None
    used: int = 0


class Throttles:
    """Per-method budgets. Callers hold the sandbox lock and pass a monotonic clock reading."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}

    def set(self, method: str, limit: int, window_seconds: float) -> None:
        """Throttle `method` (a Slack method name) to `limit` calls per `window_seconds`;
        setting it again starts afresh."""
        if not method or method == "*":
            raise ValueError("method must be one Slack method name (Slack limits each apart)")
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if not window_seconds > 0:
            raise ValueError("window_seconds must be positive")
        self._windows[method] = _Window(limit, float(window_seconds))

    def take(self, method: str, now: float) -> int | None:
        """Count one call: None when it is within budget, else the Retry-After seconds."""
        window = self._windows.get(method)
        if window is None:
            return None
        if window.opened is None or now >= window.opened + window.seconds:
            window.opened, window.used = now, 0
        if window.used < window.limit:
            window.used += 1
            return None
        return max(1, math.ceil(window.opened + window.seconds - now))

    def clear(self) -> None:
        self._windows.clear()
