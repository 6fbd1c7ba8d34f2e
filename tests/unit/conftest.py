"""Layer-1 tests: no developer environment may leak in (an irbot variable set in the shell)."""

from __future__ import annotations

import os

import pytest

_OURS = ("SLACK_", "JIRA_", "PAGERDUTY_", "IRBOT_")


@pytest.fixture(autouse=True)
def _clean_irbot_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(_OURS):
            monkeypatch.delenv(name)
