"""conversations.create / info / list / setTopic / setPurpose / invite / archive."""

from __future__ import annotations

import re
from typing import Any

from sandbox.pagination import offset_page
from sandbox.slack_common import channel_arg, clamp, require_writable
from sandbox.slack_params import Params, SlackError
from sandbox.slack_store import Channel, Workspace

NAME_MAX = 80
TEXT_FIELD_MAX = 250
INVITE_MAX = 1000
LIST_MAX = 1000
_NAME_CHARS = re.compile(r"[a-z0-9_-]+")


def create(ws: Workspace, p: Params) -> dict[str, Any]:
    name = p.get_str("name") or ""
    if not name:
        raise SlackError("invalid_name_required")
    if len(name) > NAME_MAX:
        raise SlackError("invalid_name_maxlength")
    if not _NAME_CHARS.fullmatch(name):
        raise SlackError("invalid_name_specials")
    if ws.channel_by_name(name) is not None:  # archived channels keep their names
        raise SlackError("name_taken")
    channel = ws.add_channel(name, [], is_private=p.get_bool("is_private"))
    # Slack records the creator's arrival like any other join.
    ws.join(channel, ws.bot_user_id)
    return {"channel": channel.to_api(ws.bot_user_id)}


def info(ws: Workspace, p: Params) -> dict[str, Any]:
    return {"channel": channel_arg(ws, p).to_api(ws.bot_user_id)}


def list_(ws: Workspace, p: Params) -> dict[str, Any]:
    types = set(p.get_list("types") or ["public_channel"])
    unknown = types - {"public_channel", "private_channel", "mpim", "im"}
    if unknown:
        raise SlackError("invalid_types")
    exclude_archived = p.get_bool("exclude_archived")
    selected = [
        c for c in ws.channels.values()
        if _type_of(c) in types and not (exclude_archived and c.is_archived)
    ]
    limit = clamp(p.get_int("limit", 0), 100, LIST_MAX)
    page, next_cursor = offset_page(selected, p.get_str("cursor"), limit)
    return {
        "channels": [c.to_api(ws.bot_user_id) for c in page],
        "response_metadata": {"next_cursor": next_cursor},
    }


def _type_of(channel: Channel) -> str:
    if channel.is_im:
        return "im"
    return "private_channel" if channel.is_private else "public_channel"


def set_topic(ws: Workspace, p: Params) -> dict[str, Any]:
    return _set_text_field(ws, p, "topic")


def set_purpose(ws: Workspace, p: Params) -> dict[str, Any]:
    return _set_text_field(ws, p, "purpose")


def _set_text_field(ws: Workspace, p: Params, which: str) -> dict[str, Any]:
    channel = channel_arg(ws, p)
    require_writable(ws, channel)
    value = p.get_str(which) or ""
    if len(value) > TEXT_FIELD_MAX:
        raise SlackError("too_long")
    ws.set_text_field(channel, which, value)
    return {"channel": channel.to_api(ws.bot_user_id)}


def invite(ws: Workspace, p: Params) -> dict[str, Any]:
    channel = channel_arg(ws, p)
    require_writable(ws, channel)
    user_ids = list(dict.fromkeys(p.get_list("users")))
    if not user_ids:
        raise SlackError("no_user")
    if len(user_ids) > INVITE_MAX:
        raise SlackError("too_many_users")
    errors: list[dict[str, Any]] = []
    valid: list[str] = []
    for user_id in user_ids:
        problem = _invite_problem(ws, user_id)
        if problem:
            errors.append({"user": user_id, "ok": False, "error": problem})
        else:
            valid.append(user_id)
    force = p.get_bool("force")
    # Without force one bad id fails the whole call and nobody is added.
    if errors and (not force or not valid):
        raise SlackError(errors[0]["error"], errors=errors)
    newcomers = [u for u in valid if u not in channel.members]
    if not newcomers:
        raise SlackError("already_in_channel",
                         errors=[{"user": u, "ok": False, "error": "already_in_channel"}
                                 for u in valid])
    for user_id in newcomers:
        ws.join(channel, user_id, inviter=ws.bot_user_id)
    body: dict[str, Any] = {"channel": channel.to_api(ws.bot_user_id)}
    if errors:
        body["errors"] = errors
    return body


def _invite_problem(ws: Workspace, user_id: str) -> str | None:
    if user_id == ws.bot_user_id:
        return "cant_invite_self"
    user = ws.users.get(user_id)
    if user is None:
        return "user_not_found"
    if user.deleted:
        return "user_is_inactive"
    return None


def archive(ws: Workspace, p: Params) -> dict[str, Any]:
    channel = channel_arg(ws, p)
    if channel.is_archived:
        raise SlackError("already_archived")
    if channel.name == "general":
        raise SlackError("cant_archive_general")
    ws.append(channel, {
        "type": "message",
        "subtype": "channel_archive",
        "user": ws.bot_user_id,
        "text": f"<@{ws.bot_user_id}> archived the channel",
    })
    channel.is_archived = True
    return {}
