"""Reading what a listener needs from a Slack body, defensively (pure)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from webhook.commands import MAX_TEXT_CHARS, parse_command
from webhook.modal import PEOPLE, SEVERITY, read_submission, submitted_values
from webhook.reading import missing, missing_text, run_id_of, text_of, user_of


@pytest.mark.parametrize(("body", "expected"), [
    ({"k": " C1 "}, "C1"), ({"k": ""}, ""), ({}, ""), ({"k": None}, ""), ({"k": 5}, ""),
    ({"k": ["C1"]}, ""), ({"k": {"id": "C1"}}, ""),
])
def test_text_of(body: dict[str, Any], expected: str) -> None:
    assert text_of(body, "k") == expected


@pytest.mark.parametrize(("body", "expected"), [
    ({"user": {"id": "U1", "name": "a"}}, "U1"), ({"user": "U2"}, "U2"), ({"user": {}}, ""),
    ({"user": {"id": 5}}, ""), ({"user": None}, ""), ({"user": [1]}, ""), ({}, ""),
    ({"user_id": "U3"}, ""),  # a slash command's field, not a payload's
    ({"user": {"id": "u1"}}, ""), ({"user": "U 1"}, ""), ({"user": {"id": "\u00dc1"}}, ""),
    ({"user": {"id": "../U1"}}, ""),
])
def test_user_of(body: dict[str, Any], expected: str) -> None:
    assert user_of(body) == expected


def test_missing_names_every_empty_field_in_order() -> None:
    body = {"user_id": "U1", "channel_id": " ", "response_url": 5}
    assert missing(body, "user_id", "channel_id", "trigger_id", "response_url") == [
        "channel_id", "trigger_id", "response_url"]
    assert missing(body, "user_id") == []


@pytest.mark.parametrize(("channel", "readable"), [
    ("C0123ABCD", True), ("G8PSS9T3V", True), ("c0123", False), ("C 1", False),
    ("../C1", False), ("C1/../x", False), ("\u0421123", False), ("C", False), ("C" * 41, False),
])
def test_user_and_channel_must_look_like_slack_ids(channel: str, readable: bool) -> None:
    assert (missing({"user_id": "U1", "channel_id": channel}, "user_id", "channel_id")
            == ([] if readable else ["channel_id"]))


def test_missing_text_says_what_was_missing_in_words() -> None:
    text = missing_text(["channel_id", "user_id"])
    assert "which channel you are in or who you are" in text and "did nothing" in text
    assert "channel_id" not in text


@pytest.mark.parametrize(("value", "expected"), [
    ("3f2b8e8e-2c1e-4e55-9a59-3f0d1f3c1a2b", "3f2b8e8e-2c1e-4e55-9a59-3f0d1f3c1a2b"),
    ("3F2B8E8E2C1E4E559A593F0D1F3C1A2B", "3f2b8e8e-2c1e-4e55-9a59-3f0d1f3c1a2b"),
    ("not-a-run", None), ("", None), (None, None), (5, None), ("1" * 40, None),
    ([str(uuid.UUID(int=1))], None),
])
def test_run_id_of(value: Any, expected: str | None) -> None:
    assert run_id_of(value) == expected


@pytest.mark.parametrize("view", [
    {}, {"state": None}, {"state": "x"}, {"state": {"values": []}}, {"state": {"values": None}},
    {"state": {}},
])
def test_submitted_values_of_a_view_without_readable_state(view: dict[str, Any]) -> None:
    assert submitted_values(view) == {}


@pytest.mark.parametrize("leaves", [
    {"people": {"people": {"selected_users": "U1"}}},
    {"people": {"people": {"selected_users": [None, 5, ""]}}},
    {"people": {"people": "U1"}},
    {"people": "U1"},
    {"people": {"people": {"selected_users": ["U1"]}},
     "severity": {"severity": {"selected_option": "SEV-1"}}},
    {"people": {"people": {"selected_users": ["U1"]}},
     "severity": {"severity": {"selected_option": {"value": 1}}}},
])
def test_odd_leaves_read_as_errors_not_crashes(leaves: dict[str, Any]) -> None:
    errors = read_submission({**leaves, "new_case": {"new_case": {"selected_options": [{}]}},
                              "title": {"title": {"value": 5}}})
    assert isinstance(errors, dict) and errors
    assert PEOPLE in errors or SEVERITY in errors


def test_command_text_over_the_limit_is_refused_before_it_is_split() -> None:
    cmd = parse_command("page db " + '"' + "x " * MAX_TEXT_CHARS)
    assert cmd.name == "help" and "too long" in cmd.problem
    assert parse_command("page db " + "x" * (MAX_TEXT_CHARS - 8)).name == "page"
