"""The emulated Slack workspace: users, channels, messages, triggers, views, response URLs.

Plain data plus the bookkeeping Slack does itself (thread counters, join messages). No locking
here: every caller holds the sandbox lock.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.ids import TsClock, new_slack_id, new_trigger_id, ts_micros

BOT_NAME = "irbot"
TRIGGER_TTL_SECONDS = 3.0
RESPONSE_URL_MAX_POSTS = 5

Message = dict[str, Any]


@dataclass
class User:
    id: str
    name: str
    real_name: str
    deleted: bool = False
    is_bot: bool = False

    def to_api(self, team_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.name,
                "real_name_normalized": self.real_name,
                "display_name_normalized": self.name,
                "team": team_id,
            },
        }


@dataclass
class Channel:
    id: str
    name: str
    created: int
    creator: str
    is_private: bool = False
    is_im: bool = False
    im_user: str | None = None
    is_archived: bool = False
    members: list[str] = field(default_factory=list)
    topic: dict[str, Any] = field(default_factory=lambda: _text_field(""))
    purpose: dict[str, Any] = field(default_factory=lambda: _text_field(""))
    # Every message incl. thread replies, in ts order (ts only ever grows).
    messages: list[Message] = field(default_factory=list)
    by_ts: dict[str, Message] = field(default_factory=dict)
    # Indexes so history pages cost O(log n + limit) even on huge channels (benchmarks).
    top: list[Message] = field(default_factory=list)
    top_keys: list[int] = field(default_factory=list)
    replies: dict[str, list[Message]] = field(default_factory=dict)

    def to_api(self, viewer: str) -> dict[str, Any]:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": viewer in self.members,
            "created": self.created,
            "creator": self.creator,
            "unlinked": 0,
            "topic": dict(self.topic),
            "purpose": dict(self.purpose),
            "previous_names": [],
            "num_members": len(self.members),
        }

    def snapshot(self) -> dict[str, Any]:
        """The assertion view: everything in to_api plus the member list."""
        return {
            "id": self.id,
            "name": self.name,
            "topic": self.topic["value"],
            "purpose": self.purpose["value"],
            "is_archived": self.is_archived,
            "is_private": self.is_private,
            "is_im": self.is_im,
            "members": list(self.members),
            "created": self.created,
            "creator": self.creator,
        }

    def thread(self, root_ts: str) -> list[Message]:
        """Parent first, then its replies oldest first."""
        return [self.by_ts[root_ts], *self.replies.get(root_ts, [])]


def is_top_level(message: Message) -> bool:
    thread_ts = message.get("thread_ts")
    return (
        thread_ts is None
        or thread_ts == message["ts"]
        or message.get("subtype") == "thread_broadcast"
    )


def _text_field(value: str, creator: str = "", last_set: int = 0) -> dict[str, Any]:
    return {"value": value, "creator": creator, "last_set": last_set}


@dataclass
class Trigger:
    id: str
    created: float  # time.monotonic(): immune to wall-clock jumps
    user: str | None
    used: bool = False


@dataclass
class ResponseUrl:
    key: str
    posts: int = 0


class Workspace:
    def __init__(self, *, team_id: str, bot_user_id: str, bot_id: str, app_id: str) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.clock = TsClock()
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.triggers: dict[str, Trigger] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.response_urls: dict[str, ResponseUrl] = {}
        self.responses: list[dict[str, Any]] = []
        self.files: dict[str, Any] = {}  # id → sandbox.slack_changes.StoredFile
        self.usergroups: dict[str, tuple[str, list[str]]] = {}  # id → (handle, member ids)
        self.users[bot_user_id] = User(bot_user_id, BOT_NAME, BOT_NAME, is_bot=True)

    # --- users -------------------------------------------------------------------------

    def add_user(
        self, name: str, real_name: str | None = None, *, deleted: bool = False,
        is_bot: bool = False,
    ) -> User:
        user = User(new_slack_id("U", self.users), name, real_name or name, deleted, is_bot)
        self.users[user.id] = user
        return user

    def add_usergroup(self, handle: str, members: list[str], group_id: str | None = None) -> str:
        group_id = group_id or new_slack_id("S", self.usergroups)
        self.usergroups[group_id] = (handle, list(members))
        return group_id

    # --- channels ----------------------------------------------------------------------

    def add_channel(
        self, name: str, members: list[str], *, is_private: bool = False,
        bot_is_member: bool = True, creator: str | None = None,
    ) -> Channel:
        if self.channel_by_name(name) is not None:
            raise ValueError(f"channel name taken: {name}")
        unknown = [m for m in members if m not in self.users]
        if unknown:
            raise ValueError(f"unknown users: {unknown}")
        everyone = list(dict.fromkeys([*members, *([self.bot_user_id] if bot_is_member else [])]))
        channel = Channel(
            id=new_slack_id("C", self.channels),
            name=name,
            created=int(time.time()),
            creator=creator or self.bot_user_id,
            is_private=is_private,
            members=everyone,
        )
        self.channels[channel.id] = channel
        return channel

    def channel_by_name(self, name: str) -> Channel | None:
        wanted = name.removeprefix("#")
        for channel in self.channels.values():
            if not channel.is_im and channel.name == wanted:
                return channel
        return None

    def im_with(self, user_id: str) -> Channel:
        """The bot's DM channel with a user, opened on first use as Slack does."""
        for channel in self.channels.values():
            if channel.is_im and channel.im_user == user_id:
                return channel
        channel = Channel(
            id=new_slack_id("D", self.channels),
            name="",
            created=int(time.time()),
            creator=self.bot_user_id,
            is_private=True,
            is_im=True,
            im_user=user_id,
            members=[self.bot_user_id, user_id],
        )
        self.channels[channel.id] = channel
        return channel

    def set_text_field(self, channel: Channel, which: str, value: str) -> Message:
        """Topic or purpose change, with the system message Slack posts for it."""
        record = _text_field(value, self.bot_user_id, int(time.time()))
        if which == "topic":
            channel.topic = record
            text = f"set the channel topic: {value}"
        else:
            channel.purpose = record
            text = f"set the channel description: {value}"
        return self.append(channel, {
            "type": "message",
            "subtype": f"channel_{which}",
            "user": self.bot_user_id,
            "text": text,
            which: value,
        })

    def join(self, channel: Channel, user_id: str, inviter: str | None = None) -> Message:
        if user_id not in channel.members:
            channel.members.append(user_id)
        message: Message = {
            "type": "message",
            "subtype": "channel_join",
            "user": user_id,
            "text": f"<@{user_id}> has joined the channel",
        }
        if inviter:
            message["inviter"] = inviter
        return self.append(channel, message)

    # --- messages ----------------------------------------------------------------------

    def append(
        self, channel: Channel, message: Message, *, thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> Message:
        """Store a message, stamping ts and keeping the parent's thread counters current.

        Raises KeyError if thread_ts names no message in the channel.
        """
        ts = self.clock.next()
        message = {**message, "ts": ts}
        message.setdefault("type", "message")
        if thread_ts is not None:
            root = channel.by_ts[thread_ts]
            root_ts = root.get("thread_ts") or root["ts"]  # a reply's ts means its thread
            parent = channel.by_ts[root_ts]
            message["thread_ts"] = root_ts
            message["parent_user_id"] = parent.get("user") or parent.get("bot_id")
            if broadcast:
                message["subtype"] = "thread_broadcast"
            author = message.get("user") or message.get("bot_id")
            parent["thread_ts"] = root_ts
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            reply_users: list[str] = parent.setdefault("reply_users", [])
            if author and author not in reply_users:
                reply_users.append(author)
            parent["reply_users_count"] = len(reply_users)
            parent["latest_reply"] = ts
            channel.replies.setdefault(root_ts, []).append(message)
        channel.messages.append(message)
        channel.by_ts[ts] = message
        if is_top_level(message):
            channel.top.append(message)
            channel.top_keys.append(ts_micros(ts))
        return message

    def bot_message_fields(self) -> Message:
        """Authorship fields Slack puts on a message posted with this app's bot token."""
        return {
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "bot_profile": {
                "id": self.bot_id,
                "name": BOT_NAME,
                "app_id": self.app_id,
                "team_id": self.team_id,
                "deleted": False,
            },
        }

    # --- triggers and response URLs ----------------------------------------------------

    def new_trigger(self, user: str | None = None) -> Trigger:
        trigger = Trigger(new_trigger_id(), time.monotonic(), user)
        self.triggers[trigger.id] = trigger
        return trigger

    def exchange_trigger(self, trigger_id: str) -> str | None:
        """Consume a trigger; returns a Slack error code, or None if it was good."""
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            return "invalid_trigger_id"
        if trigger.used:
            return "exchanged_trigger_id"
        if time.monotonic() - trigger.created > TRIGGER_TTL_SECONDS:
            return "expired_trigger_id"
        trigger.used = True
        return None

    def new_response_url(self) -> str:
        key = uuid.uuid4().hex
        self.response_urls[key] = ResponseUrl(key)
        return key
