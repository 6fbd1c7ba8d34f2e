"""The shapes Bolt and our listeners take for granted in a request body, as checkable rules (pure).

Before any listener runs, Bolt reads ids for its context (`team`, `user`, `channel`, `enterprise`,
`authorizations[0]`, `response_urls[0]`), calls `.get` on `event` in a middleware and on `view`
when it logs an unhandled request, and takes `actions[0]["action_id"]` to match listeners, all
without looking at the types. Slack always sends these shapes; anything else would be a 500
inside Bolt, so it is refused here with a reason instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# The interactivity types webhook/listeners.py has listeners for. A listener for a new type
# (view_closed, shortcut, ...) must add it here, or the guard keeps answering 404 for it.
HANDLED_PAYLOAD_TYPES = frozenset({"block_actions", "view_submission"})
# Types Slack documents, so a refusal can name them (an unknown type is never echoed).
KNOWN_PAYLOAD_TYPES = HANDLED_PAYLOAD_TYPES | {
    "view_closed", "shortcut", "message_action", "block_suggestion", "interactive_message",
    "dialog_submission", "dialog_cancellation", "dialog_suggestion", "workflow_step_edit",
    "event_callback", "url_verification", "app_rate_limited"}


@dataclass(frozen=True)
class Expect:
    """One field's rule, and how a refusal describes it."""

    check: Callable[[Any], bool]
    says: str


def _is_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _is_ref(value: Any) -> bool:
    if value is None or isinstance(value, str):
        return True
    return isinstance(value, dict) and all(
        _is_text(value.get(k)) for k in ("id", "team_id", "enterprise_id"))


def _is_url(value: Any) -> bool:
    """An http(s) URL a client library will accept ("" too: listeners treat it as missing)."""
    if value is None or value == "":
        return True
    if not isinstance(value, str) or not value.isascii() or any(c <= " " for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme in ("https", "http") and bool(parts.hostname)


TEXT = Expect(_is_text, "a string")
URL = Expect(_is_url, "an http(s) URL")
REF = Expect(_is_ref, "an id or an object with string ids")
OBJECT = Expect(lambda v: isinstance(v, dict), "an object")
OBJECT_OR_NULL = Expect(lambda v: v is None or isinstance(v, dict), "an object")
OBJECTS = Expect(lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
                 "a list of objects")

# Every field Bolt reads from a body of any kind. In a form body every value is a string, so the
# object-valued ones cannot appear there at all.
ENVELOPE: dict[str, Expect] = {
    **dict.fromkeys(("type", "token", "trigger_id", "api_app_id", "team_id", "user_id",
                     "channel_id", "enterprise_id", "thread_ts", "function_execution_id",
                     "bot_access_token"), TEXT),
    # Bolt's respond() posts to it (after the ack, where a failure reaches only the log).
    "response_url": URL,
    **dict.fromkeys(("team", "user", "channel", "enterprise"), REF),
    # Bolt calls .get on these whenever the key is present, even when it holds null.
    **dict.fromkeys(("view", "event"), OBJECT),
    **dict.fromkeys(("container", "state", "message", "previous_message", "item",
                     "assistant_thread", "function_data"), OBJECT_OR_NULL),
    **dict.fromkeys(("authorizations", "response_urls", "actions"), OBJECTS),
}
VIEW: dict[str, Expect] = {
    **dict.fromkeys(("id", "type", "callback_id", "team_id", "app_installed_team_id",
                     "private_metadata", "hash"), TEXT),
    "state": OBJECT_OR_NULL,
}
ACTION: dict[str, Expect] = dict.fromkeys(("action_id", "block_id", "value", "type"), TEXT)


def _bad_field(body: Mapping[str, Any], rules: Mapping[str, Expect], where: str) -> str | None:
    for name, rule in rules.items():
        if name in body and not rule.check(body[name]):
            return f"`{where}{name}` must be {rule.says}"
    return None


def _nested_problem(body: Mapping[str, Any]) -> str | None:
    """The objects inside the envelope that Bolt reads into as well."""
    for auth in body.get("authorizations") or []:
        # Bolt reads authorizations[0] with the envelope's own rules (but not recursively).
        problem = _bad_field(auth, {k: v for k, v in ENVELOPE.items() if k != "actions"},
                             "authorizations[].")
        if problem or "authorizations" in auth:
            return problem or "`authorizations[]` must not nest authorizations"
    for item in body.get("response_urls") or []:
        if not _is_url(item.get("response_url")):
            return "`response_urls[].response_url` must be an http(s) URL"
    view = body.get("view")
    if isinstance(view, dict):
        problem = _bad_field(view, VIEW, "view.")
        if problem:
            return problem
    for action in body.get("actions") or []:
        problem = _bad_field(action, ACTION, "actions[].")
        if problem:
            return problem
    return None


def _is_state_values(values: Any) -> bool:
    """`{block_id: {action_id: {...}}}`, as Slack documents view.state.values."""
    return isinstance(values, dict) and all(
        isinstance(block, dict) and all(isinstance(v, dict) for v in block.values())
        for block in values.values())


def _kind_problem(body: Mapping[str, Any]) -> str | None:
    """What a payload of a type we handle needs before Bolt can route it."""
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions")
        if not actions:
            return "block_actions has no actions"
        if not all(isinstance(a.get("action_id"), str) for a in actions):
            return "`actions[].action_id` must be a string"
    if kind == "view_submission":
        view = body.get("view")
        if not isinstance(view, dict):
            return "view_submission has no view"
        # Bolt matches on callback_id and, for an unhandled one, reads view.type to log it.
        if not isinstance(view.get("callback_id"), str) or not isinstance(view.get("type"), str):
            return "view_submission's view needs a string callback_id and type"
        state = view.get("state")
        if not isinstance(state, dict) or not _is_state_values(state.get("values")):
            return "`view.state.values` must be {block_id: {action_id: {...}}}"
    return None


def shape_problem(body: Mapping[str, Any]) -> str | None:
    """Why Bolt could not read this parsed body safely, or None when it can."""
    return _bad_field(body, ENVELOPE, "") or _nested_problem(body) or _kind_problem(body)
