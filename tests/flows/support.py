"""Helpers for layer-2 tests (sandbox look-ups and seeding the sandbox cannot do publicly)."""

from __future__ import annotations

import uuid
from typing import Any

from tasks.messages import is_irbot_notice


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def clear_faults(sandbox: Any) -> None:
    """Drop pending injected faults."""
    sandbox.clear_faults()


def expected_rows(sandbox: Any, channel_id: str) -> list[str]:
    """ts of every message and thread reply a transcript must hold (irbot's notices left
    out), in Slack order."""
    return [m["ts"] for m in sandbox.messages(channel_id, include_replies=True)
            if not is_irbot_notice(m)]


def notices(sandbox: Any, channel_id: str) -> list[str]:
    return [m["text"] for m in sandbox.messages(channel_id) if is_irbot_notice(m)]


def slack_calls(sandbox: Any, method: str, since: int = 0, **params: str) -> list[Any]:
    """Recorded Slack calls of a method (after the first `since`) whose params match."""
    return [r for r in sandbox.requests("slack", method)[since:]
            if all(str(r.params.get(k)) == v for k, v in params.items())]
