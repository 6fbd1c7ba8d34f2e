"""chat.postMessage, chat.postEphemeral, chat.update."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.slack_common import require_writable
from sandbox.slack_params import Params, SlackError
from sandbox.slack_store import Channel, Message, Workspace


def _target_channel(ws: Workspace, p: Params) -> Channel:
    """Channel id, channel name, or a user id (Slack opens the bot's DM with that user)."""
    target = p.get_str("channel") or ""
    if target in ws.channels:
        return ws.channels[target]
    if target.startswith(("U", "W")) and target in ws.users:
        return ws.im_with(target)
    channel = ws.channel_by_name(target) if target else None
    if channel is None:
        raise SlackError("channel_not_found")
    return channel


def _content(p: Params) -> Message:
    """text / blocks / metadata as Slack stores them; no_text when there is nothing to show."""
    text = p.get_str("text")
    blocks = p.get_json("blocks")
    attachments = p.get_json("attachments")
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackError("invalid_blocks")
    content: Message = {"text": text or ""}
    if blocks:
        content["blocks"] = blocks
    if attachments:
        content["attachments"] = attachments
    metadata = p.get_json("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict) or "event_type" not in metadata:
            raise SlackError("invalid_metadata_format")
        content["metadata"] = metadata
    return content


def post_message(ws: Workspace, p: Params) -> dict[str, Any]:
    channel = _target_channel(ws, p)
    require_writable(ws, channel)
    message: Message = {"type": "message", **ws.bot_message_fields(), **_content(p)}
    thread_ts = p.get_str("thread_ts") or None
    if thread_ts is not None and thread_ts not in channel.by_ts:
        raise SlackError("thread_not_found")
    stored = ws.append(channel, message, thread_ts=thread_ts,
                       broadcast=p.get_bool("reply_broadcast"))
    return {"channel": channel.id, "ts": stored["ts"], "message": copy.deepcopy(stored)}


def post_ephemeral(ws: Workspace, p: Params) -> dict[str, Any]:
    channel = _target_channel(ws, p)
    user_id = p.get_str("user") or ""
    if user_id not in ws.users:
        raise SlackError("user_not_found")
    if channel.is_archived:
        raise SlackError("is_archived")
    if user_id not in channel.members:
        raise SlackError("user_not_in_channel")
    content = _content(p)
    ts = ws.clock.next()
    ws.ephemerals.append({
        "channel": channel.id,
        "user": user_id,
        "text": content["text"],
        "blocks": content.get("blocks"),
        "thread_ts": p.get_str("thread_ts"),
        "message_ts": ts,
    })
    return {"message_ts": ts}


def update(ws: Workspace, p: Params) -> dict[str, Any]:
    channel = ws.channels.get(p.get_str("channel") or "")
    if channel is None:
        raise SlackError("channel_not_found")
    ts = p.get_str("ts") or ""
    message = channel.by_ts.get(ts)
    if message is None:
        raise SlackError("message_not_found")
    if message.get("user") != ws.bot_user_id or message.get("subtype") not in (
        None, "thread_broadcast"
    ):
        raise SlackError("cant_update_message")
    if channel.is_archived:
        raise SlackError("is_archived")
    content = _content(p)
    # Omitted blocks keep the old ones; an empty list removes them (Slack's rule).
    message["text"] = content["text"]
    raw_blocks = p.get_json("blocks")
    if raw_blocks is not None:
        if raw_blocks:
            message["blocks"] = raw_blocks
        else:
            message.pop("blocks", None)
    if "metadata" in content:
        message["metadata"] = content["metadata"]
    message["edited"] = {"user": ws.bot_user_id, "ts": ws.clock.next()}
    return {
        "channel": channel.id,
        "ts": ts,
        "text": message["text"],
        "message": copy.deepcopy(message),
    }
