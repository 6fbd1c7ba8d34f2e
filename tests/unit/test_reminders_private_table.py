"""Reminders and private incidents, pure parts: the setting, when a reminder is due, the texts
and Block Kit, the modal's commander and private tick, and the webhook's answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tasks import messages as m
from tasks.reminders import is_due, next_reminder_at, quiet_since
from tasks.settings import SettingsError, load_settings
from tasks.state import IncidentState
from webhook import replies
from webhook.modal import (
    CASE_KEY,
    COMMANDER,
    PEOPLE,
    PRIVATE,
    CreateRequest,
    create_modal,
    read_submission,
)

VALID = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s-2", "JIRA_API_TOKEN": "j-3",
         "JIRA_URL": "https://jira.example.com", "JIRA_USER": "bot@example.com",
         "JIRA_PROJECT": "SEC"}
T0 = datetime(2026, 1, 2, 3, 0, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


# --- IRBOT_UPDATE_REMINDER_MINUTES ------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no .env in reach
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, {"SEV-1": 30.0, "SEV-2": 60.0}),  # unset: the default
        ('{"SEV-1": 30, "SEV-2": 60}', {"SEV-1": 30.0, "SEV-2": 60.0}),
        ('{"SEV-1": 0.05}', {"SEV-1": 0.05}),  # fractions: tests run in seconds
        ('{"SEV-3": 120, "SEV-4": 1e3}', {"SEV-3": 120.0, "SEV-4": 1000.0}),
        ("{}", {}),
        ("", {}),  # set but empty: no reminders at all
        ("  ", {}),
    ],
)
def test_reminder_minutes_parse(env: pytest.MonkeyPatch, raw: str | None,
                                expected: dict[str, float]) -> None:
    if raw is not None:
        env.setenv("IRBOT_UPDATE_REMINDER_MINUTES", raw)
    assert load_settings().IRBOT_UPDATE_REMINDER_MINUTES == expected


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("30", "must be a JSON object"),
        ("[30]", "must be a JSON object"),
        ('{"SEV-1": 30', "must be a JSON object"),
        ("SEV-1=30", "must be a JSON object"),
        ('{"SEV-1": 0}', "above 0"),
        ('{"SEV-1": -5}', "above 0"),
        ('{"SEV-2": "60"}', "above 0"),
        ('{"SEV-2": null}', "above 0"),
        ('{"SEV-2": true}', "above 0"),
        ('{"SEV-2": NaN}', "above 0"),
        ('{"SEV-2": Infinity}', "above 0"),
        ('{"SEV1": 30}', "not a severity"),
        ('{"sev-1": 30}', "not a severity"),
    ],
)
def test_bad_reminder_minutes_are_refused_at_start(env: pytest.MonkeyPatch, raw: str,
                                                   says: str) -> None:
    env.setenv("IRBOT_UPDATE_REMINDER_MINUTES", raw)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "IRBOT_UPDATE_REMINDER_MINUTES" in str(info.value)
    assert says in str(info.value)


@pytest.mark.parametrize(
    ("raw", "severity", "period"),
    [
        (None, "SEV-1", 30 * MIN),
        (None, "SEV-2", 60 * MIN),
        (None, "SEV-3", None),
        (None, "", None),  # an incident opened without a severity
        ('{"SEV-4": 0.05}', "SEV-4", timedelta(seconds=3)),
        ('{"SEV-4": 0.05}', "SEV-1", None),
    ],
)
def test_reminder_period_by_severity(env: pytest.MonkeyPatch, raw: str | None, severity: str,
                                     period: timedelta | None) -> None:
    if raw is not None:
        env.setenv("IRBOT_UPDATE_REMINDER_MINUTES", raw)
    assert load_settings().reminder_period(severity) == period


# --- when a reminder is due ---------------------------------------------------------------


def state(**fields: Any) -> IncidentState:
    return IncidentState(case_key="SEC-1", case_url="u", channel_id="C1", channel_name="c",
                         created_by="U1", created_at=T0, **fields)


@pytest.mark.parametrize(
    ("fields", "period", "due"),
    [
        ({}, None, None),  # this severity has no reminders
        ({}, 30 * MIN, T0 + 30 * MIN),  # quiet since the incident opened
        ({"last_update_at": T0 + 10 * MIN}, 30 * MIN, T0 + 40 * MIN),  # since the last update
        # Reminded at +30: the next quiet period ends at +60 (never two for one period).
        ({"last_reminder_at": T0 + 30 * MIN}, 30 * MIN, T0 + 60 * MIN),
        # A check that ran late reminded at +45: the next is a period after that.
        ({"last_reminder_at": T0 + 45 * MIN}, 30 * MIN, T0 + 75 * MIN),
        # An update after the reminder starts a new quiet period.
        ({"last_reminder_at": T0 + 30 * MIN, "last_update_at": T0 + 35 * MIN}, 30 * MIN,
         T0 + 65 * MIN),
        # Snoozed at +40 until +70: nothing before, though +60 would have been due.
        ({"last_reminder_at": T0 + 30 * MIN, "snoozed_until": T0 + 70 * MIN}, 30 * MIN,
         T0 + 70 * MIN),
        # A snooze long over does not hold a later quiet period back.
        ({"last_update_at": T0 + 90 * MIN, "snoozed_until": T0 + 70 * MIN}, 30 * MIN,
         T0 + 120 * MIN),
        # Naive times were written as UTC.
        ({"last_update_at": datetime(2026, 1, 2, 3, 10)}, 30 * MIN, T0 + 40 * MIN),
    ],
)
def test_next_reminder_at(fields: dict[str, Any], period: timedelta | None,
                          due: datetime | None) -> None:
    assert next_reminder_at(state(**fields), period) == due


def test_quiet_since_and_is_due() -> None:
    assert quiet_since(state()) == T0
    assert quiet_since(state(last_update_at=T0 + MIN)) == T0 + MIN
    assert not is_due(None, T0)
    assert is_due(T0, T0) and is_due(T0, T0 + MIN)
    assert is_due(T0 + timedelta(milliseconds=500), T0)  # a run that starts a moment early
    assert not is_due(T0 + timedelta(seconds=2), T0)


def test_new_state_fields_have_defaults() -> None:
    """Incidents saved before this change still load."""
    old = state()
    assert old.private is False and old.commander == ""
    assert old.reminder_run_id is None and old.reminder_due_at is None
    assert old.last_reminder_at is None and old.last_reminder_ts is None
    assert old.snoozed_reminder_ts is None and old.snoozed_until is None


# --- texts -------------------------------------------------------------------------------


def test_update_reminder_mentions_the_commander_with_one_snooze_button() -> None:
    text, blocks = m.update_reminder("U7", T0, "30 minutes", "C9")
    assert text.startswith("<@U7>, no status update since <!date^")
    assert "`/irbot update`" in text
    assert blocks[0]["text"]["text"] == text
    assert "30 minutes" in blocks[1]["elements"][0]["text"]
    [button] = blocks[2]["elements"]
    assert button["action_id"] == m.REMINDER_SNOOZE_ACTION and button["value"] == "C9"
    assert button["text"]["text"] == "Snooze 30 minutes" and len(button["text"]["text"]) <= 75


def test_snoozed_reminder_has_no_button() -> None:
    text, blocks = m.reminder_snoozed("U7", T0)
    assert text.startswith("Update reminder snoozed by <@U7>: no reminder before <!date^")
    assert all(b["type"] != "actions" for b in blocks)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (m.incident_ready("SEC-1", "C1", None, {}, private=True),
         "Private incident SEC-1 is ready: <#C1>."),
        (m.incident_ready("SEC-1", "C1", "C2", {}, private=False),
         "Incident SEC-1 is ready: <#C1> (executive channel <#C2>)."),
        (m.channels_comment([("incident_channel_sec-1", T0)], "Ann (U1)", private=True),
         "Private incident (security-sensitive): its Slack channels are private.\n"
         "Slack incident channels opened by Ann (U1) via irbot:\n"
         "* #incident_channel_sec-1 (created 2026-01-02 03:00:00 UTC)"),
        (m.REMINDER_OUTDATED, "That is not the latest update reminder, so nothing was snoozed; "
         "use the Snooze button on the newest one."),
        (replies.SNOOZING, "Snoozing the update reminder: the next one comes a full period "
         "from now, unless an update is posted first."),
        (replies.SNOOZE_UNREADABLE, "This button does not name a reminder irbot can find, so "
         "your click changed nothing."),
    ],
)
def test_texts(text: str, expected: str) -> None:
    assert text == expected


@pytest.mark.parametrize(
    ("commander", "private", "headline", "details"),
    [
        ("", False, "*Incident channel for <https://j/SEC-1|SEC-1>: DB down*",
         "Opened by <@U1> · commander <@U1> · severity *SEV-1*"),
        ("U2", False, "*Incident channel for <https://j/SEC-1|SEC-1>: DB down*",
         "Opened by <@U1> · commander <@U2> · severity *SEV-1*"),
        ("U2", True, "*Private incident channel for <https://j/SEC-1|SEC-1>: DB down*",
         "Opened by <@U1> · commander <@U2> · severity *SEV-1* · security-sensitive: keep its "
         "title and details out of public channels"),
    ],
)
def test_welcome_names_the_commander(commander: str, private: bool, headline: str,
                                     details: str) -> None:
    text, blocks = m.welcome_message("SEC-1", "https://j/SEC-1", "DB down", "SEV-1", "U1",
                                     "1 hour", commander, private)
    assert blocks[0]["text"]["text"] == f"{headline}\n{details}"
    assert f"<@{commander or 'U1'}>" in text


# --- the modal ---------------------------------------------------------------------------


def test_modal_has_a_commander_picker_starting_at_the_requester() -> None:
    blocks = {b.get("block_id"): b for b in create_modal("C1", "U5")["blocks"]}
    picker = blocks[COMMANDER]
    assert picker["optional"] is True and picker["label"]["text"] == "Incident commander"
    assert picker["element"] == {"type": "users_select", "initial_user": "U5",
                                 "action_id": COMMANDER}
    assert "initial_user" not in {b.get("block_id"): b for b in create_modal("C1")["blocks"]}[
        COMMANDER]["element"]
    private = blocks[PRIVATE]
    assert private["optional"] is True and private["element"]["type"] == "checkboxes"
    [option] = private["element"]["options"]
    assert option["text"]["text"] == "Private (security-sensitive)"


BASE = {PEOPLE: {PEOPLE: {"selected_users": ["U1"]}},
        CASE_KEY: {CASE_KEY: {"value": "SEC-5"}}}


@pytest.mark.parametrize(
    ("extra", "commander", "private"),
    [
        ({}, "", False),
        ({COMMANDER: {COMMANDER: {"type": "users_select", "selected_user": "U9"}}}, "U9", False),
        ({COMMANDER: {COMMANDER: {"type": "users_select", "selected_user": None}}}, "", False),
        ({COMMANDER: {COMMANDER: {"type": "users_select", "selected_user": 7}}}, "", False),
        ({PRIVATE: {PRIVATE: {"selected_options": [{"value": "private"}]}}}, "", True),
        ({PRIVATE: {PRIVATE: {"selected_options": []}}}, "", False),
        ({COMMANDER: {COMMANDER: {"selected_user": "U3"}},
          PRIVATE: {PRIVATE: {"selected_options": [{"value": "private"}]}}}, "U3", True),
    ],
)
def test_reading_commander_and_private(extra: dict[str, Any], commander: str,
                                       private: bool) -> None:
    assert read_submission({**BASE, **extra}) == CreateRequest(
        ["U1"], "", "SEV-3", "SEC-5", False, [], commander=commander, private=private)
