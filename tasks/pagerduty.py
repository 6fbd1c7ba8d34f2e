"""PagerDuty Events API v2: the trigger event (pure) and its delivery (task)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx
from prefect import task

from tasks.clients import pagerduty_client
from tasks.errors import VendorRefused
from tasks.retry import TASK_OPTIONS
from tasks.settings import get_settings

_SEVERITY = {"SEV-1": "critical", "SEV-2": "error", "SEV-3": "warning", "SEV-4": "info"}
_SUMMARY_LIMIT = 1024
_DEDUP_LIMIT = 255


def pd_severity(incident_severity: str | None) -> str:
    """Incident severity → PagerDuty severity; a page without an incident is an error."""
    return _SEVERITY.get((incident_severity or "").upper(), "error")


def dedup_key(scope: str, team: str) -> str:
    """Same incident and team → same key, so repeated pages join one alert."""
    key = f"irbot/{scope}/{team}"
    if len(key) <= _DEDUP_LIMIT:
        return key
    return "irbot/" + hashlib.sha256(key.encode()).hexdigest()


def trigger_event(*, dedup: str, summary: str, severity: str, source: str,
                  links: list[dict[str, str]], details: dict[str, Any]) -> dict[str, Any]:
    """A trigger event body, without its routing key (a secret, added when sending)."""
    return {
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": {
            "summary": summary[:_SUMMARY_LIMIT],
            "source": source,
            "severity": severity,
            "timestamp": datetime.now(UTC).isoformat(),
            "component": "slack",
            "group": "irbot",
            "class": "incident",
            "custom_details": details,
        },
        "links": links,
        "client": "irbot",
    }


@task(name="pagerduty-trigger", **TASK_OPTIONS)
def send_trigger(team: str, event: dict[str, Any]) -> str:
    """Deliver the event (the routing key is added here, so it never becomes a parameter)."""
    settings = get_settings()
    secret = settings.PAGERDUTY_ROUTING_KEYS.get(team)
    if secret is None:
        raise VendorRefused(f"No PagerDuty routing key for team `{team}`.")
    body = {**event, "routing_key": secret.get_secret_value()}
    with pagerduty_client() as client:
        resp = client.post(settings.PAGERDUTY_EVENTS_URL, json=body)
    if resp.status_code == 400:
        message = _pd_message(resp)
        raise VendorRefused(f"PagerDuty refused the page: {message}")
    resp.raise_for_status()  # 429 and 5xx are retried by the task
    return str(resp.json().get("dedup_key") or body["dedup_key"])


def _pd_message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:300]
    errors = "; ".join(str(e) for e in data.get("errors") or [])
    return f"{data.get('message', 'invalid event')}" + (f" ({errors})" if errors else "")
