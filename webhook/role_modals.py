"""The update and handover modals: their views (Block Kit) and their submissions (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tasks.messages import HANDOVER_PARTS, UPDATE_STATUSES, status_label
from webhook import replies
from webhook.modal import _input, _option, _selected, _text, _value

UPDATE_CALLBACK_ID = "irbot_update"
HANDOVER_CALLBACK_ID = "irbot_handover"
STATUS, SUMMARY, NEXT_COMMANDER = "status", "summary", "next_commander"
_TEXT_LIMIT = 2900  # one Slack section's text is at most 3000 characters


def _meta(channel_id: str) -> str:
    return json.dumps({"channel_id": channel_id})


def _long_text(block_id: str, label: str, optional: bool = False) -> dict[str, Any]:
    return _input(block_id, label, {"type": "plain_text_input", "multiline": True,
                                    "max_length": _TEXT_LIMIT}, optional=optional)


def update_modal(channel_id: str, current_status: str) -> dict[str, Any]:
    """The form `/irbot update` opens; the status starts at the current one."""
    initial = current_status if current_status in UPDATE_STATUSES else UPDATE_STATUSES[0]
    return {
        "type": "modal", "callback_id": UPDATE_CALLBACK_ID, "private_metadata": _meta(channel_id),
        "title": {"type": "plain_text", "text": replies.UPDATE_FORM_TITLE},
        "submit": {"type": "plain_text", "text": "Post"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input(STATUS, "Status", {
                "type": "static_select",
                "options": [_option(status_label(s), s) for s in UPDATE_STATUSES],
                "initial_option": _option(status_label(initial), initial)}),
            _long_text(SUMMARY, "Summary"),
        ],
    }


def handover_modal(channel_id: str) -> dict[str, Any]:
    """The form `/irbot handover` opens; the next commander starts empty (it is a choice)."""
    return {
        "type": "modal", "callback_id": HANDOVER_CALLBACK_ID,
        "private_metadata": _meta(channel_id),
        "title": {"type": "plain_text", "text": replies.HANDOVER_FORM_TITLE},
        "submit": {"type": "plain_text", "text": "Hand over"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            *(_long_text(key, label, optional=key != "known") for key, label in HANDOVER_PARTS),
            _input(NEXT_COMMANDER, "Next commander", {"type": "users_select"}),
        ],
    }


@dataclass(frozen=True)
class UpdateRequest:
    status: str
    summary: str


@dataclass(frozen=True)
class HandoverRequest:
    next_commander: str
    parts: dict[str, str]


def read_update(values: dict[str, Any]) -> UpdateRequest | dict[str, str]:
    """The update, or {block_id: message} to show inside the modal."""
    errors: dict[str, str] = {}
    status = _selected(values, STATUS)
    summary = _text(values, SUMMARY)
    if status not in UPDATE_STATUSES:
        errors[STATUS] = replies.STATUS_REQUIRED
    if not summary:
        errors[SUMMARY] = replies.SUMMARY_REQUIRED
    if errors:
        return errors
    assert status is not None
    return UpdateRequest(status, summary)


def read_handover(values: dict[str, Any]) -> HandoverRequest | dict[str, str]:
    """The handover, or {block_id: message} to show inside the modal."""
    errors: dict[str, str] = {}
    user = _value(values, NEXT_COMMANDER).get("selected_user")
    parts = {key: _text(values, key) for key, _ in HANDOVER_PARTS}
    if not isinstance(user, str) or not user:
        errors[NEXT_COMMANDER] = replies.NEXT_COMMANDER_REQUIRED
    if not parts["known"]:
        errors["known"] = replies.HANDOVER_EMPTY
    if errors:
        return errors
    assert isinstance(user, str)
    return HandoverRequest(user, parts)
