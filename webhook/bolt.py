"""The Bolt app with every listener: one definition for HTTP and for Socket Mode."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from tasks.clients import async_slack_client
from tasks.settings import Settings
from webhook.containment import register_containment
from webhook.handoff import Handoff
from webhook.incidents import IncidentDirectory
from webhook.listeners import register


def build_bolt(settings: Settings, handoff: Handoff) -> AsyncApp:
    """Bolt verifies HTTP requests with the signing secret; over a socket it skips that check."""
    bolt = AsyncApp(
        client=async_slack_client(settings),
        signing_secret=settings.SLACK_SIGNING_SECRET.get_secret_value(),
    )
    incidents = IncidentDirectory(handoff.load_incident)
    register(bolt, settings, handoff, incidents)
    register_containment(bolt, settings, handoff, incidents)
    return bolt
