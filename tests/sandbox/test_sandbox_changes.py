"""Threads, edits, deletions, reactions, pins and files, as the real slack_sdk client sees them."""

from __future__ import annotations

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox import Sandbox


@pytest.fixture
def room(sb: Sandbox) -> tuple[str, str, str]:
    ann, ben = sb.add_user("ann"), sb.add_user("ben")
    return sb.add_channel("changes", [ann, ben]), ann, ben


def history(slack: WebClient, channel: str) -> dict[str, dict[str, object]]:
    return {m["ts"]: m for m in slack.conversations_history(channel=channel, limit=999)
            ["messages"]}


def test_thread_counters_and_broadcast_listed_in_both(sb: Sandbox, slack: WebClient,
                                                      room: tuple[str, str, str]) -> None:
    ch, ann, ben = room
    parent = sb.post_message(ch, ann, "parent")
    first = sb.post_message(ch, ben, "reply 1", thread_ts=parent)
    loud = sb.post_message(ch, ann, "reply 2, also to the channel", thread_ts=parent,
                           reply_broadcast=True)
    top = history(slack, ch)
    assert set(top) == {parent, loud} and first not in top
    assert top[parent]["reply_count"] == 2 and top[parent]["latest_reply"] == loud
    assert top[parent]["thread_ts"] == parent and top[loud]["subtype"] == "thread_broadcast"
    thread = slack.conversations_replies(channel=ch, ts=parent)["messages"]
    assert [m["ts"] for m in thread] == [parent, first, loud]


def test_edit_keeps_ts_and_marks_edited(sb: Sandbox, slack: WebClient,
                                        room: tuple[str, str, str]) -> None:
    ch, ann, ben = room
    parent = sb.post_message(ch, ann, "typo")
    reply = sb.post_message(ch, ben, "old reply", thread_ts=parent)
    sb.edit_message(ch, parent, "fixed")
    sb.edit_message(ch, reply, "new reply")
    msg = history(slack, ch)[parent]
    assert msg["text"] == "fixed" and msg["edited"]["user"] == ann  # type: ignore[index]
    assert float(msg["edited"]["ts"]) > float(parent)  # type: ignore[index]
    thread = slack.conversations_replies(channel=ch, ts=parent)["messages"]
    assert thread[1]["text"] == "new reply" and "edited" in thread[1]
    with pytest.raises(KeyError):
        sb.edit_message(ch, "1.000001", "nothing there")


def test_deletions_plain_reply_and_parent_tombstone(sb: Sandbox, slack: WebClient,
                                                    room: tuple[str, str, str]) -> None:
    ch, ann, ben = room
    plain = sb.post_message(ch, ann, "oops")
    parent = sb.post_message(ch, ann, "parent")
    r1 = sb.post_message(ch, ben, "r1", thread_ts=parent)
    r2 = sb.post_message(ch, ben, "r2", thread_ts=parent)
    sb.delete_message(ch, plain)
    sb.delete_message(ch, r2)
    top = history(slack, ch)
    assert plain not in top
    assert top[parent]["reply_count"] == 1 and top[parent]["latest_reply"] == r1
    sb.delete_message(ch, parent)
    stone = history(slack, ch)[parent]
    assert stone["subtype"] == "tombstone" and stone["text"] == "This message was deleted."
    thread = slack.conversations_replies(channel=ch, ts=parent)["messages"]
    assert [m["ts"] for m in thread] == [parent, r1]
    sb.delete_message(ch, r1)  # the last reply takes the tombstone with it
    assert parent not in history(slack, ch)
    with pytest.raises(SlackApiError) as info:
        slack.conversations_replies(channel=ch, ts=parent)
    assert info.value.response["error"] == "thread_not_found"


def test_reactions_and_pins(sb: Sandbox, slack: WebClient, room: tuple[str, str, str]) -> None:
    ch, ann, ben = room
    ts = sb.post_message(ch, ann, "look")
    for user, name in ((ann, "eyes"), (ben, "eyes"), (ben, "eyes"), (ben, "pushpin")):
        sb.add_reaction(ch, ts, user, name)
    sb.pin_message(ch, ts)
    msg = history(slack, ch)[ts]
    assert msg["reactions"] == [{"name": "eyes", "count": 2, "users": [ann, ben]},
                                {"name": "pushpin", "count": 1, "users": [ben]}]
    assert msg["pinned_to"] == [ch]


def test_files_listed_and_downloadable_only_with_the_bot_token(
        sb: Sandbox, slack: WebClient, room: tuple[str, str, str]) -> None:
    ch, ann, _ = room
    ts, file_id = sb.post_file(ch, ann, "trace.log", b"line 1\nline 2\n", "text/plain",
                               text="the trace")
    hidden_ts, _ = sb.post_file(ch, ann, "old.png", b"\x89PNG", "image/png", hidden=True)
    top = history(slack, ch)
    [meta] = top[ts]["files"]  # type: ignore[misc]
    assert meta["id"] == file_id and meta["name"] == "trace.log" and meta["size"] == 14
    assert meta["mimetype"] == "text/plain" and file_id in meta["permalink"]
    url = meta["url_private_download"]
    assert httpx.get(url).status_code == 403
    assert httpx.get(url, headers={"Authorization": "Bearer xoxb-wrong"}).status_code == 403
    good = httpx.get(url, headers={"Authorization": f"Bearer {sb.bot_token}"})
    assert good.status_code == 200 and good.content == b"line 1\nline 2\n"
    assert top[hidden_ts]["files"] == [{"id": top[hidden_ts]["files"][0]["id"],  # type: ignore[index]
                                        "mode": "hidden_by_limit"}]
    recorded = sb.requests("slack", "files.download")
    assert [r.status for r in recorded] == [403, 403, 200]
    sb.inject_fault("slack", "files.download", 503)
    assert httpx.get(url, headers={"Authorization": f"Bearer {sb.bot_token}"}).status_code == 503
