"""What people do to messages after posting them: edit, delete, react, pin, share files.

Each change keeps the fields Slack keeps (see shared/API_NOTES.md): an edit leaves
`edited: {user, ts}` and the new text and no history; a deleted message is simply gone, except a
thread parent with replies, which becomes a `tombstone`; reactions are `[{name, count, users}]`;
a pin adds the channel to `pinned_to`. No locking here: every caller holds the sandbox lock.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from sandbox.ids import new_slack_id, ts_micros
from sandbox.slack_store import Channel, Message, Workspace

TOMBSTONE_TEXT = "This message was deleted."
TOMBSTONE_USER = "USLACKBOT"
# Slack's free plan hides old files: the file stays listed, but only as a stub.
HIDDEN_BY_LIMIT = "hidden_by_limit"


@dataclass
class StoredFile:
    id: str
    name: str
    mimetype: str
    content: bytes
    user: str
    hidden: bool = False  # listed with mode hidden_by_limit, download refused

    def to_api(self, base_url: str, team_id: str) -> dict[str, object]:
        if self.hidden:
            return {"id": self.id, "mode": HIDDEN_BY_LIMIT}
        download = f"{base_url}/slack/files/{self.id}/{self.name}"
        return {
            "id": self.id,
            "name": self.name,
            "title": self.name,
            "mimetype": self.mimetype,
            "filetype": self.name.rsplit(".", 1)[-1] if "." in self.name else "binary",
            "size": len(self.content),
            "user": self.user,
            "mode": "hosted",
            "url_private": download,
            "url_private_download": download + "?download=1",
            "permalink": f"https://sandbox.slack.com/files/{self.user}/{self.id}/{self.name}",
        }


def message_at(channel: Channel, ts: str) -> Message:
    """The stored message (top-level or reply); KeyError when there is none."""
    message = channel.by_ts.get(ts)
    if message is None:
        raise KeyError(f"no message with ts {ts!r} in that channel")
    return message


def edit(ws: Workspace, channel: Channel, ts: str, text: str) -> Message:
    """New text, marked edited by its author at a new ts (Slack keeps no earlier text)."""
    message = message_at(channel, ts)
    if message.get("subtype") == "tombstone":
        raise ValueError("a deleted message cannot be edited")
    message["text"] = text
    message["edited"] = {"user": message.get("user") or "", "ts": ws.clock.next()}
    return message


def delete(channel: Channel, ts: str) -> None:
    """Gone from every listing; a parent that still has replies stays as a tombstone."""
    message = message_at(channel, ts)
    root_ts = message.get("thread_ts")
    is_parent = root_ts == ts or (root_ts is None and ts in channel.replies)
    if is_parent and channel.replies.get(ts):
        for key in ("text", "user", "files", "reactions", "pinned_to", "edited", "blocks",
                    "bot_id", "bot_profile", "username", "attachments"):
            message.pop(key, None)
        message.update(subtype="tombstone", text=TOMBSTONE_TEXT, user=TOMBSTONE_USER,
                       hidden=True)
        return
    _unlist(channel, message)
    if root_ts and root_ts != ts:
        _drop_reply(channel, root_ts, message)


def _unlist(channel: Channel, message: Message) -> None:
    ts = message["ts"]
    channel.messages.remove(message)
    del channel.by_ts[ts]
    at = bisect_left(channel.top_keys, ts_micros(ts))
    if at < len(channel.top) and channel.top[at] is message:
        del channel.top[at]
        del channel.top_keys[at]


def _drop_reply(channel: Channel, root_ts: str, reply: Message) -> None:
    """Keep the parent's counters what Slack would show once a reply is gone."""
    replies = channel.replies.get(root_ts, [])
    if reply in replies:
        replies.remove(reply)
    parent = channel.by_ts.get(root_ts)
    if parent is None:
        return
    parent["reply_count"] = len(replies)
    users = list(dict.fromkeys(str(r.get("user") or r.get("bot_id")) for r in replies))
    parent["reply_users"], parent["reply_users_count"] = users, len(users)
    if replies:
        parent["latest_reply"] = replies[-1]["ts"]
    else:
        for key in ("reply_count", "reply_users", "reply_users_count", "latest_reply"):
            parent.pop(key, None)
        if parent.get("subtype") == "tombstone":
            _unlist(channel, parent)  # a tombstone goes once its last reply does


def react(channel: Channel, ts: str, user: str, name: str) -> Message:
    """One more person reacting with `name` (a second time by the same person is a no-op)."""
    message = message_at(channel, ts)
    reactions: list[dict[str, object]] = message.setdefault("reactions", [])
    for reaction in reactions:
        if reaction["name"] == name:
            users = reaction["users"]
            assert isinstance(users, list)
            if user not in users:
                users.append(user)
                reaction["count"] = len(users)
            return message
    reactions.append({"name": name, "count": 1, "users": [user]})
    return message


def pin(channel: Channel, ts: str) -> Message:
    message = message_at(channel, ts)
    pinned: list[str] = message.setdefault("pinned_to", [])
    if channel.id not in pinned:
        pinned.append(channel.id)
    return message


def new_file(ws: Workspace, files: dict[str, StoredFile], user: str, name: str,
             mimetype: str, content: bytes, hidden: bool = False) -> StoredFile:
    stored = StoredFile(new_slack_id("F", files), name, mimetype, content, user, hidden)
    files[stored.id] = stored
    return stored
