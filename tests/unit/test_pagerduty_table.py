"""PagerDuty Events v2 payload builders (pure)."""

from __future__ import annotations

import pytest

from tasks.pagerduty import dedup_key, pd_severity, trigger_event


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("SEV-1", "critical"),
        ("SEV-2", "error"),
        ("SEV-3", "warning"),
        ("SEV-4", "info"),
        ("sev-1", "critical"),
        ("SEV-5", "error"),
        ("", "error"),
        (None, "error"),
        ("critical", "error"),
    ],
)
def test_pd_severity(severity: str | None, expected: str) -> None:
    assert pd_severity(severity) == expected
    assert expected in {"critical", "error", "warning", "info"}


@pytest.mark.parametrize(
    ("scope", "team"),
    [
        ("SEC-42", "engineering"),
        ("C0123", "db"),
        ("", "x"),
        ("S" * 240, "engineering"),
        ("S" * 1000, "engineering"),
        ("SEC-1", "t" * 400),
        ("ünïcødé-🔥" * 30, "team"),
    ],
)
def test_dedup_key_is_stable_and_bounded(scope: str, team: str) -> None:
    key = dedup_key(scope, team)
    assert key == dedup_key(scope, team)
    assert len(key) <= 255
    assert key.startswith("irbot/")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("SEC-42", "eng"), ("SEC-42", "db")),
        (("SEC-42", "eng"), ("SEC-43", "eng")),
        (("S" * 1000, "eng"), ("S" * 1000, "db")),
        (("S" * 1000, "eng"), ("S" * 999 + "T", "eng")),
    ],
)
def test_dedup_key_separates_incidents_and_teams(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert dedup_key(*a) != dedup_key(*b)


def test_short_dedup_key_is_readable() -> None:
    assert dedup_key("SEC-42", "engineering") == "irbot/SEC-42/engineering"


@pytest.mark.parametrize(
    ("summary", "expected_len"),
    [
        ("db down", 7),
        ("", 0),
        ("x" * 1024, 1024),
        ("x" * 1025, 1024),
        ("🔥" * 5000, 1024),
    ],
)
def test_trigger_event(summary: str, expected_len: int) -> None:
    event = trigger_event(dedup="irbot/SEC-1/eng", summary=summary, severity="critical",
                          source="slack #incident_channel_sec-1",
                          links=[{"href": "https://jira/browse/SEC-1", "text": "SEC-1"}],
                          details={"requested_by": "U1"})
    assert "routing_key" not in event
    assert "routing_key" not in event["payload"]
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == "irbot/SEC-1/eng"
    payload = event["payload"]
    assert len(payload["summary"]) == expected_len <= 1024
    assert payload["source"] == "slack #incident_channel_sec-1"
    assert payload["severity"] == "critical"
    assert payload["timestamp"]
    assert payload["custom_details"] == {"requested_by": "U1"}
    assert event["links"] == [{"href": "https://jira/browse/SEC-1", "text": "SEC-1"}]
