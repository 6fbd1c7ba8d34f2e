"""The PagerDuty Events v2 emulator over plain httpx."""

from __future__ import annotations

import httpx

from sandbox import Sandbox

KEY = "R" * 32
TRIGGER = {"routing_key": KEY, "event_action": "trigger", "dedup_key": "SEC-1",
           "payload": {"summary": "DB down", "source": "irbot", "severity": "critical"}}


def test_trigger_accepted_and_recorded(sb: Sandbox) -> None:
    answer = httpx.post(sb.pagerduty_url, json=TRIGGER)
    assert answer.status_code == 202
    assert answer.json() == {"status": "success", "message": "Event processed",
                             "dedup_key": "SEC-1"}
    assert sb.pagerduty_events == [TRIGGER]
    generated = httpx.post(sb.pagerduty_url, json={**TRIGGER, "dedup_key": None}).json()
    assert generated["dedup_key"]


def test_invalid_events_refused(sb: Sandbox) -> None:
    cases = [
        {**TRIGGER, "routing_key": "short"},
        {**TRIGGER, "event_action": "explode"},
        {**TRIGGER, "payload": {"summary": "x", "source": "irbot", "severity": "bad"}},
        {**TRIGGER, "payload": {"summary": "x" * 1025, "source": "s", "severity": "info"}},
        {"routing_key": KEY, "event_action": "resolve"},
        {**TRIGGER, "dedup_key": "k" * 256},
    ]
    for event in cases:
        answer = httpx.post(sb.pagerduty_url, json=event)
        assert answer.status_code == 400, event
        body = answer.json()
        assert body["status"] == "invalid event" and body["errors"]
    assert httpx.post(sb.pagerduty_url, content=b"not json").status_code == 400
    assert sb.pagerduty_events == []
    ack = {"routing_key": KEY, "event_action": "acknowledge", "dedup_key": "SEC-1"}
    assert httpx.post(sb.pagerduty_url, json=ack).status_code == 202


def test_rate_limit_fault(sb: Sandbox) -> None:
    sb.inject_fault("pagerduty", "*", 429, retry_after=3)
    limited = httpx.post(sb.pagerduty_url, json=TRIGGER)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert httpx.post(sb.pagerduty_url, json=TRIGGER).status_code == 202
