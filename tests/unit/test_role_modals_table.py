"""The update and handover forms: views and submissions (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.driver import form_values
from tasks.messages import UPDATE_STATUSES
from webhook import replies
from webhook.modal import origin_channel
from webhook.role_modals import (
    HANDOVER_CALLBACK_ID,
    NEXT_COMMANDER,
    STATUS,
    SUMMARY,
    UPDATE_CALLBACK_ID,
    HandoverRequest,
    UpdateRequest,
    handover_modal,
    read_handover,
    read_update,
    update_modal,
)


@pytest.mark.parametrize(
    ("current", "initial"),
    [("", "investigating"), ("monitoring", "monitoring"), ("bogus", "investigating")],
)
def test_update_form_starts_at_the_current_status(current: str, initial: str) -> None:
    view = update_modal("C1", current)
    assert view["callback_id"] == UPDATE_CALLBACK_ID and origin_channel(view) == "C1"
    [status] = [b for b in view["blocks"] if b["block_id"] == STATUS]
    assert status["element"]["initial_option"]["value"] == initial
    assert [o["value"] for o in status["element"]["options"]] == list(UPDATE_STATUSES)
    assert len(view["title"]["text"]) <= 24


def test_handover_form_asks_for_the_next_commander() -> None:
    view = handover_modal("C1")
    assert view["callback_id"] == HANDOVER_CALLBACK_ID and origin_channel(view) == "C1"
    kinds = {b["block_id"]: (b["element"]["type"], b["optional"]) for b in view["blocks"]}
    assert kinds == {"known": ("plain_text_input", False),
                     "in_progress": ("plain_text_input", True),
                     "actions": ("plain_text_input", True),
                     NEXT_COMMANDER: ("users_select", False)}


def _handover_values(view: dict[str, Any], fill: dict[str, Any]) -> dict[str, Any]:
    values = form_values(view, {k: v for k, v in fill.items() if k != NEXT_COMMANDER})
    values[NEXT_COMMANDER] = {NEXT_COMMANDER: {"type": "users_select",
                                               "selected_user": fill.get(NEXT_COMMANDER)}}
    return values


@pytest.mark.parametrize(
    ("fill", "expected"),
    [
        ({STATUS: "identified", SUMMARY: " root cause found "},
         UpdateRequest("identified", "root cause found")),
        ({SUMMARY: "x"}, UpdateRequest("investigating", "x")),  # the initial option
        ({STATUS: "identified", SUMMARY: ""}, {SUMMARY: replies.SUMMARY_REQUIRED}),
    ],
)
def test_read_update(fill: dict[str, Any], expected: Any) -> None:
    assert read_update(form_values(update_modal("C1", ""), fill)) == expected


def test_read_update_refuses_an_unknown_status() -> None:
    values = {STATUS: {STATUS: {"selected_option": {"value": "panicking"}}},
              SUMMARY: {SUMMARY: {"value": "x"}}}
    assert read_update(values) == {STATUS: replies.STATUS_REQUIRED}


@pytest.mark.parametrize(
    ("fill", "expected"),
    [
        ({"known": "db died", "actions": "call vendor", NEXT_COMMANDER: "U2"},
         HandoverRequest("U2", {"known": "db died", "in_progress": "",
                                "actions": "call vendor"})),
        ({"known": "db died"}, {NEXT_COMMANDER: replies.NEXT_COMMANDER_REQUIRED}),
        ({NEXT_COMMANDER: "U2"}, {"known": replies.HANDOVER_EMPTY}),
    ],
)
def test_read_handover(fill: dict[str, Any], expected: Any) -> None:
    assert read_handover(_handover_values(handover_modal("C1"), fill)) == expected
