"""The create-incident modal: its view (Block Kit) and the reading of a submission (pure)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tasks.severity import SEVERITY_LEVELS

CALLBACK_ID = "irbot_create"
# Short enough that incident_channel_<key>_exec stays within Slack's 80-character names.
_KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,29}-[1-9][0-9]{0,9}$")

PEOPLE, TITLE, SEVERITY, CASE_KEY, NEW_CASE, EXEC, EXEC_PEOPLE = (
    "people", "title", "severity", "case_key", "new_case", "exec_channel", "exec_people")
COMMANDER, PRIVATE = "commander", "private"


def _input(block_id: str, label: str, element: dict[str, Any], optional: bool = False,
           hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input", "block_id": block_id, "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {**element, "action_id": block_id},
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def create_modal(origin_channel: str, requester: str = "") -> dict[str, Any]:
    """The form `/irbot create` opens; the origin channel rides in private_metadata. The
    commander picker starts at the requester (left empty, the requester commands too)."""
    commander: dict[str, Any] = {"type": "users_select"}
    if requester:
        commander["initial_user"] = requester
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": "New incident"},
        "submit": {"type": "plain_text", "text": "Create"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"channel_id": origin_channel}),
        "blocks": [
            _input(PEOPLE, "People to invite", {"type": "multi_users_select"}),
            _input(COMMANDER, "Incident commander", commander, optional=True,
                   hint="Who runs the incident; you, unless you pick someone else."),
            _input(TITLE, "Incident title", {"type": "plain_text_input", "max_length": 200},
                   optional=True, hint="Required when creating a new Jira incident."),
            _input(SEVERITY, "Severity", {
                "type": "static_select",
                "options": [_option(s, s) for s in SEVERITY_LEVELS],
                "initial_option": _option("SEV-3", "SEV-3"),
            }),
            _input(CASE_KEY, "Existing Jira case",
                   {"type": "plain_text_input", "placeholder":
                    {"type": "plain_text", "text": "e.g. SEC-123"}},
                   optional=True, hint="Leave empty and tick the box below to create a new case."),
            _input(NEW_CASE, "New case", {"type": "checkboxes", "options": [
                _option("Create a new Jira incident", "create_new")]}, optional=True),
            _input(EXEC, "Executive channel", {"type": "checkboxes", "options": [
                _option("Also create an executive channel", "exec")]}, optional=True),
            _input(EXEC_PEOPLE, "People for the executive channel",
                   {"type": "multi_users_select"}, optional=True),
            _input(PRIVATE, "Visibility", {"type": "checkboxes", "options": [
                _option("Private (security-sensitive)", "private")]}, optional=True,
                   hint="Private channels, and the title kept out of public channels and "
                        "PagerDuty."),
        ],
    }


@dataclass(frozen=True)
class CreateRequest:
    """A valid submission, ready to become flow parameters."""

    invitees: list[str]
    title: str
    severity: str
    existing_case: str | None
    exec_channel: bool
    exec_invitees: list[str] = field(default_factory=list)
    commander: str = ""  # "" = the requester
    private: bool = False


def _value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    # Slack's shape is {block_id: {action_id: {...}}}; anything else reads as left empty.
    block = values.get(block_id)
    if not isinstance(block, dict) or not block:
        return {}
    action = block.get(block_id)
    if action is None:  # tolerate another action_id inside our block
        action = next(iter(block.values()))
    return action if isinstance(action, dict) else {}


def _text(values: dict[str, Any], block_id: str) -> str:
    value = _value(values, block_id).get("value")
    return value.strip() if isinstance(value, str) else ""


def _users(values: dict[str, Any], block_id: str) -> list[str]:
    users = _value(values, block_id).get("selected_users")
    return [u for u in users if isinstance(u, str) and u] if isinstance(users, list) else []


def _user(values: dict[str, Any], block_id: str) -> str:
    user = _value(values, block_id).get("selected_user")
    return user if isinstance(user, str) else ""


def _ticked(values: dict[str, Any], block_id: str) -> bool:
    options = _value(values, block_id).get("selected_options")
    return isinstance(options, list) and bool(options)


def _selected(values: dict[str, Any], block_id: str) -> str | None:
    """The chosen option's value; None when nothing is chosen, "" when it is unreadable."""
    option = _value(values, block_id).get("selected_option")
    if option is None:
        return None
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) else ""


def submitted_values(view: dict[str, Any]) -> dict[str, Any]:
    """`view.state.values`, or {} when the submission carries none."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    return values if isinstance(values, dict) else {}


def read_submission(values: dict[str, Any]) -> CreateRequest | dict[str, str]:
    """The request, or {block_id: message} to show inside the modal."""
    errors: dict[str, str] = {}
    people = _users(values, PEOPLE)
    title = _text(values, TITLE)
    key = _text(values, CASE_KEY).upper()
    create_new = _ticked(values, NEW_CASE)
    exec_channel = _ticked(values, EXEC)
    exec_people = _users(values, EXEC_PEOPLE)
    chosen = _selected(values, SEVERITY)
    severity = "SEV-3" if chosen is None else chosen

    if not people:
        errors[PEOPLE] = "Choose at least one person to invite."
    if not key and not create_new:
        errors[CASE_KEY] = "Enter an existing Jira case key, or tick “Create a new Jira incident”."
    elif key and create_new:
        errors[CASE_KEY] = ("Give an existing case key or tick “Create a new Jira incident”, "
                            "not both.")
    elif key and not _KEY_RE.match(key):
        errors[CASE_KEY] = "A Jira case key looks like SEC-123."
    if create_new and not title:
        errors[TITLE] = "A new Jira incident needs a title."
    if severity not in SEVERITY_LEVELS:
        errors[SEVERITY] = "Choose a severity."
    if exec_people and not exec_channel:
        errors[EXEC_PEOPLE] = "Tick “Also create an executive channel”, or clear these people."
    if errors:
        return errors
    return CreateRequest(invitees=people, title=title, severity=severity,
                         existing_case=key or None, exec_channel=exec_channel,
                         exec_invitees=exec_people, commander=_user(values, COMMANDER),
                         private=_ticked(values, PRIVATE))


def origin_channel(view: dict[str, Any]) -> str | None:
    """The channel `/irbot create` was typed in, from private_metadata."""
    raw = view.get("private_metadata")
    try:
        meta = json.loads(raw) if isinstance(raw, str) and raw else {}
    except (ValueError, RecursionError):
        return None
    channel = meta.get("channel_id") if isinstance(meta, dict) else None
    return channel if isinstance(channel, str) and channel else None
