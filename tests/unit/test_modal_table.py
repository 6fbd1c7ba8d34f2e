"""The create modal (Block Kit within Slack's limits) and reading its submission (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from webhook.modal import (
    CASE_KEY,
    EXEC,
    EXEC_PEOPLE,
    NEW_CASE,
    PEOPLE,
    SEVERITY,
    TITLE,
    CreateRequest,
    create_modal,
    origin_channel,
    read_submission,
)

CHANNELS = ["C0123", "G0ABCDEF", "D1", "C" + "X" * 40]


# --- the view ---------------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_modal_respects_slack_limits(channel: str) -> None:
    view = create_modal(channel)
    assert view["type"] == "modal"
    assert view["callback_id"]
    for part in ("title", "submit", "close"):
        assert view[part]["type"] == "plain_text"
        assert 0 < len(view[part]["text"]) <= 24
    assert 0 < len(view["blocks"]) <= 100
    assert len(view["private_metadata"]) <= 3000
    assert len(json.dumps(view)) < 250_000  # whole-view guard, generous


@pytest.mark.parametrize("channel", CHANNELS)
def test_private_metadata_round_trips(channel: str) -> None:
    assert origin_channel(create_modal(channel)) == channel


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ({}, None),
        ({"private_metadata": ""}, None),
        ({"private_metadata": "not json"}, None),
        ({"private_metadata": "[1, 2]"}, None),
        ({"private_metadata": "{}"}, None),
        ({"private_metadata": '{"channel_id": ""}'}, None),
        ({"private_metadata": '{"channel_id": "C9"}'}, "C9"),
    ],
)
def test_origin_channel_tolerates_bad_metadata(view: dict[str, Any], expected: str | None) -> None:
    assert origin_channel(view) == expected


def test_every_input_block_has_unique_block_id_and_labels_within_limits() -> None:
    blocks = create_modal("C1")["blocks"]
    ids = [b["block_id"] for b in blocks if b["type"] == "input"]
    assert len(ids) == len([b for b in blocks if b["type"] == "input"])
    assert all(ids) and len(set(ids)) == len(ids)
    for block in blocks:
        assert len(block["block_id"]) <= 255
        assert len(block["label"]["text"]) <= 2000
        assert len(block["element"]["action_id"]) <= 255
        if "hint" in block:
            assert len(block["hint"]["text"]) <= 2000


@pytest.mark.parametrize(
    ("block_id", "element_type", "optional"),
    [
        (PEOPLE, "multi_users_select", False),
        (TITLE, "plain_text_input", True),
        (SEVERITY, "static_select", False),
        (CASE_KEY, "plain_text_input", True),
        (NEW_CASE, "checkboxes", True),
        (EXEC, "checkboxes", True),
        (EXEC_PEOPLE, "multi_users_select", True),
    ],
)
def test_element_types(block_id: str, element_type: str, optional: bool) -> None:
    blocks = {b["block_id"]: b for b in create_modal("C1")["blocks"]}
    block = blocks[block_id]
    assert block["type"] == "input"
    assert block["element"]["type"] == element_type
    assert block["optional"] is optional


def test_option_lists_are_valid() -> None:
    blocks = {b["block_id"]: b for b in create_modal("C1")["blocks"]}
    severity = blocks[SEVERITY]["element"]
    values = [o["value"] for o in severity["options"]]
    assert values == ["SEV-1", "SEV-2", "SEV-3", "SEV-4"]
    assert severity["initial_option"] in severity["options"]
    for block_id in (NEW_CASE, EXEC):
        options = blocks[block_id]["element"]["options"]
        assert len(options) == 1
        assert len(options[0]["text"]["text"]) <= 75 and options[0]["value"]


# --- the submission, as Slack sends view.state.values ------------------------------------


def text(block_id: str, value: str | None) -> dict[str, Any]:
    return {block_id: {block_id: {"type": "plain_text_input", "value": value}}}


def users(block_id: str, ids: list[str]) -> dict[str, Any]:
    return {block_id: {block_id: {"type": "multi_users_select", "selected_users": ids}}}


def ticked(block_id: str, value: str, on: bool) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": value}, "value": value}] if on else []
    return {block_id: {block_id: {"type": "checkboxes", "selected_options": options}}}


def severity(value: str | None) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": value}, "value": value} if value else None
    return {SEVERITY: {SEVERITY: {"type": "static_select", "selected_option": option}}}


def form(*, people: list[str] | None = None, title: str | None = None, sev: str | None = "SEV-2",
         key: str | None = None, new: bool = False, exec_: bool = False,
         exec_people: list[str] | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for part in (users(PEOPLE, people or []), text(TITLE, title), severity(sev),
                 text(CASE_KEY, key), ticked(NEW_CASE, "create_new", new),
                 ticked(EXEC, "exec", exec_), users(EXEC_PEOPLE, exec_people or [])):
        values.update(part)
    return values


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (form(people=["U1", "U2"], title="DB down", new=True),
         CreateRequest(["U1", "U2"], "DB down", "SEV-2", None, False, [])),
        (form(people=["U1"], title="  DB down  ", sev="SEV-1", new=True, exec_=True,
              exec_people=["U9"]),
         CreateRequest(["U1"], "DB down", "SEV-1", None, True, ["U9"])),
        (form(people=["U1"], key="SEC-42"),
         CreateRequest(["U1"], "", "SEV-2", "SEC-42", False, [])),
        (form(people=["U1"], key="sec-42"),
         CreateRequest(["U1"], "", "SEV-2", "SEC-42", False, [])),
        (form(people=["U1"], key="  Sec-7 ", title="kept", sev="SEV-4"),
         CreateRequest(["U1"], "kept", "SEV-4", "SEC-7", False, [])),
        (form(people=["U1"], key="A_B2-1234567890"),
         CreateRequest(["U1"], "", "SEV-2", "A_B2-1234567890", False, [])),
        (form(people=["U1"], key="SEC-1", exec_=True),
         CreateRequest(["U1"], "", "SEV-2", "SEC-1", True, [])),
        (form(people=["U1"], key="SEC-1", sev=None),  # no choice: the default
         CreateRequest(["U1"], "", "SEV-3", "SEC-1", False, [])),
    ],
)
def test_valid_submissions(values: dict[str, Any], expected: CreateRequest) -> None:
    assert read_submission(values) == expected


@pytest.mark.parametrize(
    ("values", "error_blocks"),
    [
        (form(people=["U1"]), {CASE_KEY}),
        (form(people=["U1"], key="   "), {CASE_KEY}),
        (form(people=["U1"], key="SEC-1", title="t", new=True), {CASE_KEY}),
        (form(people=["U1"], key="SEC"), {CASE_KEY}),
        (form(people=["U1"], key="SEC-0"), {CASE_KEY}),
        (form(people=["U1"], key="123-4"), {CASE_KEY}),
        (form(people=["U1"], key="SEC-12a"), {CASE_KEY}),
        (form(people=["U1"], key="sec 12"), {CASE_KEY}),
        (form(people=["U1"], key="SEC-"), {CASE_KEY}),
        (form(people=["U1"], key="-12"), {CASE_KEY}),
        (form(people=["U1"], key="SEC-012"), {CASE_KEY}),
        (form(people=["U1"], key="SEC-1-2"), {CASE_KEY}),
        (form(people=["U1"], key="https://jira/browse/SEC-1"), {CASE_KEY}),
        (form(people=["U1"], new=True), {TITLE}),
        (form(people=["U1"], title="   ", new=True), {TITLE}),
        (form(title="t", new=True), {PEOPLE}),
        (form(key="SEC-1"), {PEOPLE}),
        (form(people=["U1"], key="SEC-1", exec_people=["U2"]), {EXEC_PEOPLE}),
        (form(people=["U1"], key="SEC-1", sev="SEV-9"), {SEVERITY}),
        (form(new=True, exec_people=["U2"]), {PEOPLE, TITLE, EXEC_PEOPLE}),
        (form(key="nope", exec_people=["U2"]), {PEOPLE, CASE_KEY, EXEC_PEOPLE}),
        (form(), {PEOPLE, CASE_KEY}),
        ({}, {PEOPLE, CASE_KEY}),
    ],
)
def test_invalid_submissions_name_every_bad_block(values: dict[str, Any],
                                                  error_blocks: set[str]) -> None:
    errors = read_submission(values)
    assert isinstance(errors, dict)
    assert set(errors) == error_blocks
    assert all(isinstance(m, str) and 0 < len(m) <= 150 for m in errors.values())


@pytest.mark.parametrize(
    "values",
    [
        {},
        {PEOPLE: {}},
        {PEOPLE: None, TITLE: None},
        {PEOPLE: {PEOPLE: None}},
        {PEOPLE: {PEOPLE: {"type": "multi_users_select", "selected_users": None}}},
        {NEW_CASE: {NEW_CASE: {"type": "checkboxes", "selected_options": None}}},
        {SEVERITY: {SEVERITY: {"type": "static_select", "selected_option": None}}},
        {TITLE: {TITLE: {"type": "plain_text_input", "value": None}}},
    ],
)
def test_missing_or_null_blocks_do_not_crash(values: dict[str, Any]) -> None:
    errors = read_submission(values)
    assert isinstance(errors, dict)
    assert PEOPLE in errors


def test_an_unexpected_action_id_inside_our_block_is_still_read() -> None:
    values = {
        PEOPLE: {"other": {"type": "multi_users_select", "selected_users": ["U1"]}},
        CASE_KEY: {"other": {"type": "plain_text_input", "value": "sec-5"}},
    }
    assert read_submission(values) == CreateRequest(["U1"], "", "SEV-3", "SEC-5", False, [])
