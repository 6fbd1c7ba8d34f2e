"""PagerDuty routing keys: well-formed is all that can be known without paging someone."""

from __future__ import annotations

from tasks.settings import Settings
from webhook.check.model import Check, Status, ok

KEY_LENGTH = 32  # Events API v2 integration keys


def pagerduty_checks(settings: Settings) -> list[Check]:
    keys = settings.PAGERDUTY_ROUTING_KEYS
    if not keys:
        return [ok("PagerDuty", "no teams in PAGERDUTY_ROUTING_KEYS: `/irbot page` has nobody "
                                "to page (optional)")]
    return [routing_key(team, secret.get_secret_value()) for team, secret in sorted(keys.items())]


def routing_key(team: str, key: str) -> Check:
    """Length and alphabet only; the key itself is never shown."""
    name = f"PagerDuty key for {team}"
    fix = ("copy the Integration Key of an Events API v2 integration on the team's service "
           "into PAGERDUTY_ROUTING_KEYS")
    if len(key) != KEY_LENGTH:
        return Check(name, Status.FAILED, f"{len(key)} characters, not {KEY_LENGTH}", fix)
    if not key.isascii() or not key.isalnum():
        return Check(name, Status.FAILED, "has characters other than letters and digits", fix)
    return ok(name, "well-formed (not sent: a test event would page the team)")
