"""The scopes the emulated Slack reports for the bot token: those of the app's manifest.

Slack reports the scopes an app was installed with, and irbot's app is installed from
`slack-app-manifest.yaml`; reading it keeps the sandbox free of irbot's code while irbot's own
list (tasks/slack_scopes.py) stays the one truth (a test keeps the manifests equal to it).
"""

from __future__ import annotations

from pathlib import Path

import yaml  # type: ignore[import-untyped]  # PyYAML comes with Prefect; no stubs here

MANIFEST = Path(__file__).resolve().parents[1] / "slack-app-manifest.yaml"
# What apps.connections.open asks of an app-level token (Slack's rule, not irbot's choice).
APP_TOKEN_SCOPE = "connections:write"


def manifest_bot_scopes(path: Path = MANIFEST) -> tuple[str, ...]:
    """The bot scopes the manifest declares, in its order."""
    spec = yaml.safe_load(path.read_text())
    return tuple(str(s) for s in spec["oauth_config"]["scopes"]["bot"])
