"""Which checks run when: all of them for `irbot check`, the fast ones at `irbot serve` start."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from tasks.settings import Settings, SettingsError, load_settings
from webhook.check.falcon import falcon_check
from webhook.check.jira import jira_checks, jira_credentials
from webhook.check.model import Check, Status, ok, summary
from webhook.check.pagerduty import pagerduty_checks
from webhook.check.prefect import prefect_checks
from webhook.check.slack import app_token, bot_token, slack_checks

CHECK_TIMEOUT_SECONDS = 10
# At start-up every second counts and a slow service is only a warning.
STARTUP_TIMEOUT_SECONDS = 5


def settings_check() -> tuple[Settings | None, Check]:
    try:
        settings = load_settings()
    except SettingsError as exc:
        return None, Check("Settings", Status.MISSING, "; ".join(exc.problems),
                           "set them in .env or the environment (see .env.example)")
    return settings, ok("Settings", "every required variable is set")


def all_checks(settings: Settings, environ: Mapping[str, str], socket_mode: bool) -> list[Check]:
    """Everything `irbot check` asks, in the order an operator fixes things."""
    timeout = CHECK_TIMEOUT_SECONDS
    return [
        *slack_checks(settings, socket_mode, timeout),
        *jira_checks(settings, timeout),
        *pagerduty_checks(settings),
        falcon_check(settings, timeout),
        *prefect_checks(environ, timeout),
    ]


def startup_checks(settings: Settings, socket_mode: bool) -> list[Check]:
    """The credential checks (one round trip each) and the free local ones."""
    timeout = STARTUP_TIMEOUT_SECONDS
    return [
        *bot_token(settings, timeout),
        app_token(settings, socket_mode, timeout),
        *jira_credentials(settings, timeout),
        *pagerduty_checks(settings),
        falcon_check(settings, timeout),
    ]


def check_command(environ: Mapping[str, str], socket_mode: bool, out: TextIO = sys.stdout) -> int:
    """`irbot check`: print every line; 0 only when all pass."""
    settings, first = settings_check()
    print(first.line(), file=out, flush=True)
    if settings is None:
        print("Nothing else can be checked until the settings load.", file=out)
        return 1
    checks = [first]
    for check in all_checks(settings, environ, socket_mode or settings.socket_mode):
        print(check.line(), file=out, flush=True)
        checks.append(check)
    print(summary(checks), file=out)
    return 0 if all(c.passed for c in checks) else 1
