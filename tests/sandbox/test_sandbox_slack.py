"""The Slack emulator through the real slack_sdk clients, over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox, slack_store


def slack_error(fn, /, **kwargs: object) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(SlackApiError) as info:
        fn(**kwargs)
    return str(info.value.response["error"])


# --- auth and dispatch ---------------------------------------------------------------


def test_auth_errors_and_unknown_method(sb: Sandbox) -> None:
    api = sb.slack_api_url
    assert httpx.post(api + "auth.test").json() == {"ok": False, "error": "not_authed"}
    wrong = httpx.post(api + "auth.test", headers={"Authorization": "Bearer xoxb-wrong"})
    assert wrong.status_code == 200
    assert wrong.json()["error"] == "invalid_auth"
    good = {"Authorization": f"Bearer {sb.bot_token}"}
    assert httpx.post(api + "no.such", headers=good).json()["error"] == "unknown_method"
    recorded = sb.requests("slack")
    assert [r.auth_valid for r in recorded] == [False, False, True]
    assert all("authorization" not in r.headers for r in recorded)


def test_auth_test(slack: WebClient, sb: Sandbox) -> None:
    answer = slack.auth_test()
    assert answer["user_id"] == sb.bot_user_id
    assert answer["bot_id"] == sb.bot_id
    assert answer["team_id"] == sb.team_id


# --- conversations -------------------------------------------------------------------


def test_create_rules_and_name_taken_even_when_archived(slack: WebClient) -> None:
    channel = slack.conversations_create(name="incident_channel_sec-1")["channel"]
    assert channel["name"] == "incident_channel_sec-1"
    assert channel["is_member"] is True
    assert slack_error(slack.conversations_create, name="incident_channel_sec-1") == "name_taken"
    slack.conversations_archive(channel=channel["id"])
    assert slack_error(slack.conversations_create, name="incident_channel_sec-1") == "name_taken"
    assert slack_error(slack.conversations_create, name="Has Caps") == "invalid_name_specials"
    assert slack_error(slack.conversations_create, name="x" * 81) == "invalid_name_maxlength"
    assert slack_error(slack.conversations_create, name="") == "invalid_name_required"
    assert slack_error(slack.conversations_archive, channel=channel["id"]) == "already_archived"


def test_archive_general_and_info(slack: WebClient, sb: Sandbox) -> None:
    general = sb.add_channel("general")
    assert slack_error(slack.conversations_archive, channel=general) == "cant_archive_general"
    assert slack.conversations_info(channel=general)["channel"]["name"] == "general"
    assert slack_error(slack.conversations_info, channel="C0NOPE") == "channel_not_found"


def test_topic_and_purpose(slack: WebClient, sb: Sandbox) -> None:
    cid = sb.add_channel("ops")
    slack.conversations_setTopic(channel=cid, topic="https://jira/browse/SEC-1")
    slack.conversations_setPurpose(channel=cid, purpose="Incident SEC-1")
    assert sb.channel(cid)["topic"] == "https://jira/browse/SEC-1"
    assert sb.channel(cid)["purpose"] == "Incident SEC-1"
    assert [m["subtype"] for m in sb.messages(cid)] == ["channel_topic", "channel_purpose"]
    assert slack_error(slack.conversations_setTopic, channel=cid, topic="x" * 251) == "too_long"
    outside = sb.add_channel("elsewhere", bot_is_member=False)
    assert slack_error(slack.conversations_setPurpose, channel=outside,
                       purpose="x") == "not_in_channel"


def test_invite_errors_and_joins(slack: WebClient, sb: Sandbox) -> None:
    cid = sb.add_channel("inc")
    alice, bob = sb.add_user("alice"), sb.add_user("bob")
    gone = sb.add_user("gone", deleted=True)

    with pytest.raises(SlackApiError) as info:
        slack.conversations_invite(channel=cid, users=[alice, "U0MISSING"])
    assert info.value.response["error"] == "user_not_found"
    assert info.value.response["errors"] == [
        {"user": "U0MISSING", "ok": False, "error": "user_not_found"}]
    assert sb.channel(cid)["members"] == [sb.bot_user_id]  # nobody added

    assert slack_error(slack.conversations_invite, channel=cid, users=gone) == "user_is_inactive"
    assert slack_error(slack.conversations_invite, channel=cid,
                       users=sb.bot_user_id) == "cant_invite_self"
    assert slack_error(slack.conversations_invite, channel=cid, users="") == "no_user"

    forced = slack.conversations_invite(channel=cid, users=f"{alice},U0MISSING", force=True)
    assert forced["errors"][0]["user"] == "U0MISSING"
    assert alice in sb.channel(cid)["members"]
    assert slack_error(slack.conversations_invite, channel=cid, users=alice) == \
        "already_in_channel"
    slack.conversations_invite(channel=cid, users=[alice, bob])  # only bob is new
    joins = [m for m in sb.messages(cid) if m.get("subtype") == "channel_join"]
    assert [m["text"] for m in joins] == [f"<@{alice}> has joined the channel",
                                          f"<@{bob}> has joined the channel"]

    sb.add_channel("closed")
    closed = sb.channel_by_name("closed")
    assert closed is not None
    slack.conversations_archive(channel=closed["id"])
    assert slack_error(slack.conversations_invite, channel=closed["id"], users=bob) == \
        "is_archived"
    outside = sb.add_channel("outside", bot_is_member=False)
    assert slack_error(slack.conversations_invite, channel=outside, users=bob) == \
        "not_in_channel"


def test_list_paginates(slack: WebClient, sb: Sandbox) -> None:
    for n in range(5):
        sb.add_channel(f"c{n}")
    sb.add_channel("secret", is_private=True)
    names = [c["name"] for page in slack.conversations_list(limit=2) for c in page["channels"]]
    assert names == ["c0", "c1", "c2", "c3", "c4"]
    both = slack.conversations_list(types="public_channel,private_channel")["channels"]
    assert len(both) == 6


# --- history and replies -------------------------------------------------------------


def _seed_history(sb: Sandbox, count: int) -> tuple[str, list[str]]:
    alice = sb.add_user("alice")
    cid = sb.add_channel("big", [alice])
    return cid, [sb.post_message(cid, alice, f"message {n}") for n in range(count)]


def test_history_paginates_2500_messages_sync(slack: WebClient, sb: Sandbox) -> None:
    cid, posted = _seed_history(sb, 2500)
    seen: list[str] = []
    pages = 0
    for page in slack.conversations_history(channel=cid, limit=200):
        pages += 1
        seen.extend(m["ts"] for m in page["messages"])
    assert pages == 13
    assert seen == posted[::-1]  # newest first, every message exactly once
    assert len(set(posted)) == 2500 and posted == sorted(posted, key=float)


async def test_history_paginates_2500_messages_async(aslack: AsyncWebClient,
                                                     sb: Sandbox) -> None:
    cid, posted = _seed_history(sb, 2500)
    seen: list[str] = []
    async for page in await aslack.conversations_history(channel=cid, limit=999):
        seen.extend(m["ts"] for m in page["messages"])
    assert seen == posted[::-1]
    assert {r.http_method for r in sb.requests("slack", "conversations.history")} == {"GET"}


def test_history_limits_windows_and_cursor_errors(slack: WebClient, sb: Sandbox) -> None:
    cid, posted = _seed_history(sb, 10)
    first = slack.conversations_history(channel=cid, limit=3)
    assert [m["ts"] for m in first["messages"]] == posted[:-4:-1]
    assert first["has_more"] is True
    assert len(slack.conversations_history(channel=cid, limit=5000)["messages"]) == 10
    window = slack.conversations_history(channel=cid, oldest=posted[2], latest=posted[5])
    assert [m["ts"] for m in window["messages"]] == [posted[4], posted[3]]
    inclusive = slack.conversations_history(channel=cid, oldest=posted[2], latest=posted[5],
                                            inclusive=True)
    assert [m["ts"] for m in inclusive["messages"]] == posted[5:1:-1]
    done = slack.conversations_history(channel=cid)
    assert done["has_more"] is False and done["response_metadata"]["next_cursor"] == ""
    assert slack_error(slack.conversations_history, channel=cid,
                       cursor="bogus!") == "invalid_cursor"
    private = sb.add_channel("private", is_private=True, bot_is_member=False)
    assert slack_error(slack.conversations_history, channel=private) == "not_in_channel"


def test_threads_broadcasts_and_replies(slack: WebClient, sb: Sandbox) -> None:
    alice, bob = sb.add_user("alice"), sb.add_user("bob")
    cid = sb.add_channel("t", [alice, bob])
    parent = sb.post_message(cid, alice, "parent")
    reply = sb.post_message(cid, bob, "reply", thread_ts=parent)
    shout = sb.post_message(cid, alice, "broadcast", thread_ts=parent, reply_broadcast=True)
    bot = sb.post_bot_message(cid, "grafana", "alert!")

    history = slack.conversations_history(channel=cid)["messages"]
    assert [m["ts"] for m in history] == [bot, shout, parent]
    top = history[2]
    assert top["thread_ts"] == parent and top["reply_count"] == 2
    assert top["reply_users"] == [bob, alice] and top["latest_reply"] == shout
    assert history[1]["subtype"] == "thread_broadcast"
    assert history[0]["subtype"] == "bot_message" and "user" not in history[0]

    replies = slack.conversations_replies(channel=cid, ts=parent)["messages"]
    assert [m["ts"] for m in replies] == [parent, reply, shout]
    paged = [m["ts"] for page in slack.conversations_replies(channel=cid, ts=parent, limit=1)
             for m in page["messages"]]
    assert paged == [parent, reply, shout]
    assert slack_error(slack.conversations_replies, channel=cid,
                       ts="1.000001") == "thread_not_found"
    assert len(sb.messages(cid, include_replies=True)) == 4


# --- users ---------------------------------------------------------------------------


def test_users_info_and_list(slack: WebClient, sb: Sandbox) -> None:
    ids = [sb.add_user(f"user{n}", real_name=f"User {n}") for n in range(4)]
    info = slack.users_info(user=ids[0])["user"]
    assert info["profile"]["real_name"] == "User 0" and info["name"] == "user0"
    assert slack_error(slack.users_info, user="U0NOBODY") == "user_not_found"
    members = [u["id"] for page in slack.users_list(limit=2) for u in page["members"]]
    assert members == [sb.bot_user_id, *ids]
    assert len(slack.users_list(limit=5000)["members"]) == 5  # clamped, not refused


# --- chat ----------------------------------------------------------------------------


def test_post_update_and_errors(slack: WebClient, sb: Sandbox) -> None:
    alice = sb.add_user("alice")
    cid = sb.add_channel("inc", [alice])
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    posted = slack.chat_postMessage(channel=cid, text="hi", blocks=blocks,
                                    metadata={"event_type": "irbot", "event_payload": {"a": 1}})
    assert posted["message"]["bot_id"] == sb.bot_id
    stored = sb.messages(cid)[-1]
    assert stored["blocks"] == blocks and stored["metadata"]["event_payload"] == {"a": 1}
    assert stored["bot_profile"]["name"] == "irbot" and stored["user"] == sb.bot_user_id

    slack.chat_update(channel=cid, ts=posted["ts"], text="bye", blocks=[])
    updated = sb.messages(cid)[-1]
    assert updated["text"] == "bye" and "blocks" not in updated and "edited" in updated
    theirs = sb.post_message(cid, alice, "mine")
    assert slack_error(slack.chat_update, channel=cid, ts=theirs,
                       text="x") == "cant_update_message"
    assert slack_error(slack.chat_update, channel=cid, ts="1.000001",
                       text="x") == "message_not_found"

    with pytest.warns(UserWarning):  # slack_sdk warns before sending a text-less message
        assert slack_error(slack.chat_postMessage, channel=cid, text="") == "no_text"
    assert slack_error(slack.chat_postMessage, channel="C0NOPE", text="x") == \
        "channel_not_found"
    outside = sb.add_channel("outside", bot_is_member=False)
    assert slack_error(slack.chat_postMessage, channel=outside, text="x") == "not_in_channel"

    reply = slack.chat_postMessage(channel=cid, text="in thread", thread_ts=posted["ts"])
    assert reply["message"]["thread_ts"] == posted["ts"]

    dm = slack.chat_postMessage(channel=alice, text="psst")
    assert dm["channel"].startswith("D")
    assert sb.messages(dm["channel"])[0]["text"] == "psst"


async def test_async_client_sends_json_for_chat(aslack: AsyncWebClient, sb: Sandbox) -> None:
    cid = sb.add_channel("inc")
    blocks = [{"type": "divider"}]
    await aslack.chat_postMessage(channel=cid, text="hello", blocks=blocks)
    (call,) = sb.requests("slack", "chat.postMessage")
    assert call.headers["content-type"].startswith("application/json")
    assert call.params["blocks"] == blocks
    assert sb.messages(cid)[-1]["blocks"] == blocks


async def test_async_client_query_string_writes(aslack: AsyncWebClient, sb: Sandbox) -> None:
    alice = sb.add_user("alice")
    channel = (await aslack.conversations_create(name="inc-async"))["channel"]
    await aslack.conversations_invite(channel=channel["id"], users=[alice])
    await aslack.conversations_setTopic(channel=channel["id"], topic="SEC-7")
    assert sb.channel(channel["id"])["members"] == [sb.bot_user_id, alice]
    assert sb.channel(channel["id"])["topic"] == "SEC-7"
    (create,) = sb.requests("slack", "conversations.create")
    assert create.query == {"name": "inc-async"}  # AsyncWebClient: params in the query


def test_post_ephemeral(slack: WebClient, sb: Sandbox) -> None:
    alice, bob = sb.add_user("alice"), sb.add_user("bob")
    cid = sb.add_channel("inc", [alice])
    assert slack.chat_postEphemeral(channel=cid, user=alice, text="only you")["message_ts"]
    assert sb.ephemerals[0]["user"] == alice and sb.ephemerals[0]["text"] == "only you"
    assert slack_error(slack.chat_postEphemeral, channel=cid, user=bob,
                       text="x") == "user_not_in_channel"
    assert sb.messages(cid) == []


# --- faults --------------------------------------------------------------------------


def test_429_is_retried_after_retry_after(sb: Sandbox) -> None:
    cid = sb.add_channel("inc")
    client = WebClient(token=sb.bot_token, base_url=sb.slack_api_url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    sb.inject_fault("slack", "conversations.history", 429, retry_after=1)
    started = time.monotonic()
    assert client.conversations_history(channel=cid)["ok"] is True
    assert time.monotonic() - started >= 1.0
    statuses = [r.status for r in sb.requests("slack", "conversations.history")]
    assert statuses == [429, 200]


def test_429_without_retry_handler_surfaces(slack: WebClient, sb: Sandbox) -> None:
    sb.inject_fault("slack", "*", 429, retry_after=7)
    with pytest.raises(SlackApiError) as info:
        slack.auth_test()
    assert info.value.response.status_code == 429
    assert info.value.response.headers["retry-after"] == "7"
    assert info.value.response["error"] == "ratelimited"
    assert slack.auth_test()["ok"] is True  # times=1: only one call failed


async def test_async_429_retry(sb: Sandbox) -> None:
    client = AsyncWebClient(token=sb.bot_token, base_url=sb.slack_api_url,
                            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    sb.inject_fault("slack", "auth.test", 429, retry_after=1)
    assert (await client.auth_test())["ok"] is True


def test_custom_fault_body_and_5xx(slack: WebClient, sb: Sandbox) -> None:
    sb.inject_fault("slack", "conversations.create", 200,
                    body={"ok": False, "error": "restricted_action"})
    assert slack_error(slack.conversations_create, name="x") == "restricted_action"
    sb.inject_fault("slack", "auth.test", 503)
    raw = httpx.post(sb.slack_api_url + "auth.test",
                     headers={"Authorization": f"Bearer {sb.bot_token}"})
    assert raw.status_code == 503 and raw.headers["content-type"].startswith("text/plain")


# --- views ---------------------------------------------------------------------------


MODAL = {"type": "modal", "callback_id": "create", "title": {"type": "plain_text",
         "text": "New incident"}, "blocks": [{"type": "divider"}]}


def test_views_open_trigger_rules(slack: WebClient, sb: Sandbox,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    alice = sb.add_user("alice")
    trigger = sb.new_trigger_id(alice)
    view = slack.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert view["id"].startswith("V") and view["state"] == {"values": {}}
    assert view["callback_id"] == "create" and view["hash"]
    assert sb.views[view["id"]]["user"] == alice
    assert slack_error(slack.views_open, trigger_id=trigger, view=MODAL) == \
        "exchanged_trigger_id"
    assert slack_error(slack.views_open, trigger_id="1.2.3", view=MODAL) == \
        "invalid_trigger_id"
    monkeypatch.setattr(slack_store, "TRIGGER_TTL_SECONDS", 0.05)
    stale = sb.new_trigger_id()
    time.sleep(0.1)
    assert slack_error(slack.views_open, trigger_id=stale, view=MODAL) == "expired_trigger_id"

    updated = slack.views_update(view_id=view["id"],
                                 view={**MODAL, "title": {"type": "plain_text", "text": "Done"}})
    assert updated["view"]["title"]["text"] == "Done"
    assert slack_error(slack.views_update, view_id="V0NOPE", view=MODAL) == "not_found"


def test_views_open_limits(slack: WebClient, sb: Sandbox) -> None:
    def refused(view: dict[str, object]) -> str:
        return slack_error(slack.views_open, trigger_id=sb.new_trigger_id(), view=view)

    assert refused({**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}) == \
        "invalid_arguments"
    assert refused({**MODAL, "blocks": [{"type": "divider"}] * 101}) == "invalid_arguments"
    assert refused({**MODAL, "private_metadata": "x" * 3001}) == "invalid_arguments"
    assert refused({**MODAL, "callback_id": "x" * 256}) == "invalid_arguments"
    big = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}] * 90
    assert refused({**MODAL, "blocks": big}) == "view_too_large"
    # A refused view does not burn the trigger.
    trigger = sb.new_trigger_id()
    slack_error(slack.views_open, trigger_id=trigger, view={**MODAL, "callback_id": "x" * 256})
    # The view may also travel as a JSON string (as the sync client's form body carries it).
    as_text: Any = json.dumps(MODAL)
    assert slack.views_open(trigger_id=trigger, view=as_text)["ok"] is True


# --- response URLs -------------------------------------------------------------------


def test_response_url_takes_five_posts(sb: Sandbox) -> None:
    url = sb.response_url()
    for n in range(5):
        answer = httpx.post(url, json={"text": f"reply {n}"})
        assert answer.status_code == 200 and answer.text == "ok"
    assert httpx.post(url, json={"text": "sixth"}).status_code == 404
    assert [r["body"]["text"] for r in sb.responses] == [f"reply {n}" for n in range(5)]
    assert httpx.post(sb.url + "/slack/response/nope", json={}).status_code == 404
