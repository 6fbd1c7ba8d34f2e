"""Look-ups shared by the Slack method handlers, raising Slack's error codes."""

from __future__ import annotations

from sandbox.slack_params import Params, SlackError
from sandbox.slack_store import Channel, Workspace


def channel_arg(ws: Workspace, p: Params, name: str = "channel") -> Channel:
    channel_id = p.get_str(name)
    if not channel_id:
        raise SlackError("channel_not_found")
    channel = ws.channels.get(channel_id)
    if channel is None:
        raise SlackError("channel_not_found")
    return channel


def require_writable(ws: Workspace, channel: Channel) -> None:
    """Changes need an open channel the bot belongs to."""
    if channel.is_archived:
        raise SlackError("is_archived")
    if ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")


def clamp(value: int, default: int, maximum: int) -> int:
    """Slack treats a missing or non-positive limit as the default and caps large ones."""
    if value <= 0:
        return default
    return min(value, maximum)
