"""Reading the fields a listener needs from a Slack body, without trusting they are there (pure).

The guard has checked the types Bolt relies on; what a listener needs on top (who, where, which
run) may still be missing, and then the listener answers instead of starting anything.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

# Slack's user, channel and team ids: uppercase letters and digits. Anything else would be
# looked up (Prefect block names, Slack API calls) and fail after the ack, out of sight.
_SLACK_ID = re.compile(r"[A-Z0-9]{2,40}")
_IDS = frozenset({"user_id", "channel_id"})
# How a responder would call what is missing.
_SAID = {"user_id": "who you are", "channel_id": "which channel you are in",
         "trigger_id": "a trigger for the form", "response_url": "where to answer you"}


def text_of(body: Mapping[str, Any], key: str) -> str:
    """A string field, stripped; "" when it is missing or not a string."""
    value = body.get(key)
    return value.strip() if isinstance(value, str) else ""


def slack_id(value: str) -> str:
    """The value if it is shaped like a Slack id, else ""."""
    return value if _SLACK_ID.fullmatch(value) else ""


def user_of(body: Mapping[str, Any]) -> str:
    """Who acted on an interactivity payload (`user.id`; Bolt also accepts a bare id)."""
    user = body.get("user")
    if isinstance(user, Mapping):
        return slack_id(text_of(user, "id"))
    return slack_id(user.strip()) if isinstance(user, str) else ""


def missing(body: Mapping[str, Any], *keys: str) -> list[str]:
    """The keys whose value is empty or not a string (nor a Slack id, for user and channel)."""
    return [key for key in keys
            if not (slack_id(text_of(body, key)) if key in _IDS else text_of(body, key))]


def missing_text(keys: list[str]) -> str:
    """What to tell a responder when Slack's request lacked what irbot needs."""
    lacking = " or ".join(_SAID.get(key, key) for key in keys)
    return (f"Slack's request did not say {lacking}, so irbot did nothing. Please try again; "
            "if it keeps happening, tell whoever runs irbot.")


def run_id_of(value: Any) -> str | None:
    """A button's flow run id, or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
