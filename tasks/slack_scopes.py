"""The Slack scopes irbot's calls need. Both app manifests declare exactly these (a test checks),
and `irbot check` compares them with what Slack reports for the installed token."""

from __future__ import annotations

BOT_SCOPES: tuple[str, ...] = (
    "commands",
    "channels:manage",
    "channels:read",
    "channels:history",
    "groups:read",
    "groups:write",
    "groups:history",
    "chat:write",
    "chat:write.public",
    "im:write",
    "users:read",
    "files:read",
    "usergroups:read",  # who may confirm a containment: members of IRBOT_CONTAIN_ALLOWED's groups
)
# The app-level token of a Socket Mode app: apps.connections.open needs this and nothing else.
APP_TOKEN_SCOPE = "connections:write"  # noqa: S105 - a scope name, not a secret


def scopes_header(value: str | None) -> set[str]:
    """Slack's `x-oauth-scopes` header ("a,b,c") as a set."""
    return {s.strip() for s in (value or "").split(",") if s.strip()}
