"""What the roles flows post and record, and what the webhook answers about them (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tasks import messages
from tasks.state import IncidentState
from webhook import replies
from webhook.commands import PersonProblem

URL = "https://jira.example.com/browse/SEC-42"


@pytest.mark.parametrize(
    ("severity", "name", "expected"),
    [
        ("SEV-2", "Alice Liddell", f"Jira SEC-42: {URL} · SEV-2 · Commander: Alice Liddell"),
        ("", "Alice", f"Jira SEC-42: {URL} · Commander: Alice"),
        ("SEV-1", "", f"Jira SEC-42: {URL} · SEV-1"),
    ],
)
def test_incident_topic(severity: str, name: str, expected: str) -> None:
    assert messages.incident_topic("SEC-42", URL, severity, name) == expected


def test_a_long_topic_keeps_the_case_url_within_slack_limit() -> None:
    topic = messages.incident_topic("SEC-42", URL, "SEV-1", "N" * 400)
    assert len(topic) == 250 and topic.startswith(f"Jira SEC-42: {URL}") and topic.endswith("…")
    assert "<" not in topic and "*" not in topic  # a topic has no formatting


@pytest.mark.parametrize(
    ("commander", "by", "present", "absent"),
    [
        ("U1", "U1", ["<@U1> is now the incident commander."], ["named by"]),
        ("U1", "U2", ["<@U1>", "named by <@U2>"], []),
        ("U1", None, ["<@U1>", "named by an operator"], []),
    ],
)
def test_commander_notice(commander: str, by: str | None, present: list[str],
                          absent: list[str]) -> None:
    text = messages.commander_notice(commander, by)
    assert all(p in text for p in present) and not any(a in text for a in absent)


def test_commander_comment_names_people_by_name() -> None:
    text = messages.commander_comment("Bob (U2)", "Alice (U1)")
    assert text.startswith("Incident commander: Bob (U2)") and "Alice (U1)" in text


@pytest.mark.parametrize(
    ("old", "new", "priority", "notice", "comment"),
    [
        ("SEV-3", "SEV-1", "Highest", "from SEV-3 to *SEV-1* by <@U1>",
         "from SEV-3 to SEV-1 by Al (U1) in Slack via irbot. Jira priority set to Highest."),
        ("", "SEV-2", None, "to *SEV-2* by <@U1>", "to SEV-2 by Al (U1) in Slack via irbot."),
        ("SEV-2", "SEV-2", None, "to *SEV-2*", "to SEV-2 by"),
    ],
)
def test_severity_texts(old: str, new: str, priority: str | None, notice: str,
                        comment: str) -> None:
    assert notice in messages.severity_notice(old, new, "U1")
    text = messages.severity_comment(old, new, "Al (U1)", priority)
    assert comment in text and (priority is not None) == ("priority" in text)


def test_priority_refused_says_the_severity_changed_anyway() -> None:
    text = messages.priority_refused("Urgent", "SEC-42", "HTTP 400")
    assert "Urgent" in text and "SEC-42" in text and "severity changed" in text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("a < b & c > d", "a &lt; b &amp; c &gt; d"), ("<@U1>", "&lt;@U1&gt;"), ("plain", "plain")],
)
def test_slack_escape(text: str, escaped: str) -> None:
    assert messages.slack_escape(text) == escaped


def _all_text(blocks: list[dict[str, Any]]) -> str:
    out = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [e["text"] for e in block.get("elements") or []]
    return "\n".join(out)


@pytest.mark.parametrize(
    ("status", "case_key", "channel", "present"),
    [
        ("identified", "", "", ["Status update: Identified", "<@U1>", "db &lt;primary&gt;"]),
        ("monitoring", "SEC-42", "C9", ["SEC-42 status update: Monitoring", "<#C9>", "<@U1>"]),
        ("", "", "", ["No status yet"]),
    ],
)
def test_status_update(status: str, case_key: str, channel: str, present: list[str]) -> None:
    text, blocks = messages.status_update(status, "db <primary> failed over", "U1", case_key,
                                          channel)
    shown = text + "\n" + _all_text(blocks)
    for part in present:
        assert part in shown
    assert "<primary>" not in shown  # responder text cannot become markup


def test_update_comment_is_plain() -> None:
    text = messages.update_comment("resolved", "all good <now>", "Al (U1)")
    assert text == "Status update (Resolved) by Al (U1):\nall good <now>"


def test_handover_message_and_comment() -> None:
    parts = {"known": "db <x> died", "in_progress": "failover", "actions": ""}
    text, blocks = messages.handover_message(parts, "U1", "U2", "U1")
    shown = _all_text(blocks)
    assert "<@U2> takes command from <@U1>" in text
    for label, value in (("What we know", "db &lt;x&gt; died"), ("In progress", "failover"),
                         ("Open actions", "—")):
        assert f"*{label}*\n{value}" in shown
    assert len([b for b in blocks if b["type"] == "section"]) == 4
    same, _ = messages.handover_message(parts, "U2", "U2", "U2")
    assert "stays in command" in same
    comment = messages.handover_comment(parts, "Al (U1)", "Bo (U2)", "Al (U1)")
    assert "Al (U1) → Bo (U2)" in comment and "What we know:\ndb <x> died" in comment


@pytest.mark.parametrize(
    ("problem", "typed", "present"),
    [
        (PersonProblem.BARE_NAME, "@alice", ["`@alice`", "pick the person from Slack's list"]),
        (PersonProblem.NOT_A_PERSON, "alice", ["`alice`", "Slack's list"]),
        (PersonProblem.MORE_THAN_ONE, "<@U1> <@U2>", ["Name one person"]),
    ],
)
def test_person_refused(problem: PersonProblem, typed: str, present: list[str]) -> None:
    text = replies.person_refused(problem, typed)
    assert all(p in text for p in present)


@pytest.mark.parametrize(
    ("typed", "present", "absent"),
    [("SEV-9", ["`SEV-9` is not a severity", "`SEV-1`", "`SEV-4`"], []),
     ("", ["`SEV-1`, `SEV-2`, `SEV-3`, `SEV-4`"], ["is not a severity"]),
     ("x" * 100, ["x" * 40], ["x" * 41])],
)
def test_unknown_severity_lists_the_levels(typed: str, present: list[str],
                                          absent: list[str]) -> None:
    text = replies.unknown_severity(typed)
    assert all(p in text for p in present) and not any(a in text for a in absent)


@pytest.mark.parametrize(
    ("commander", "status", "present"),
    [
        ("", "", ["Commander: <@U1>", "Latest update: none yet"]),
        ("U2", "identified", ["Commander: <@U2>", "Latest update: Identified, <!date^"]),
    ],
)
def test_status_shows_commander_and_latest_update(commander: str, status: str,
                                                  present: list[str]) -> None:
    now = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    state = IncidentState(case_key="SEC-42", case_url=URL, channel_id="C1", channel_name="c",
                          created_by="U1", created_at=now, commander=commander,
                          update_status=status, last_update_at=now if status else None)
    text = replies.status_text(state, None)
    assert all(p in text for p in present)


@pytest.mark.parametrize(
    ("commander", "me", "expected"),
    [("U1", "U1", "Making you the incident commander"),
     ("U2", "U1", "Making <@U2> the incident commander")],
)
def test_commander_requested(commander: str, me: str, expected: str) -> None:
    assert replies.commander_requested(commander, me).startswith(expected)


@pytest.mark.parametrize("command", ["commander", "severity", "update", "handover"])
def test_role_commands_outside_an_incident_say_so(command: str) -> None:
    text = replies.closed_or_unknown("random", command)
    assert "not an open incident" in text and "/irbot create" in text
