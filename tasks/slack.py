"""Slack Web API steps, each a Prefect task retried only on transient faults."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prefect import task
from prefect.runtime import flow_run
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tasks.messages import OPERATOR, notice_key, notice_metadata
from tasks.retry import TASK_OPTIONS, is_repeat_attempt

INVITE_BATCH = 100  # Slack's docs disagree (100 vs 1000); 100 is safe under both.
HISTORY_PAGE = 999  # Slack's maximum: fewest calls against the Tier 3 budget.
# Per-user invite failures that should not fail the incident: we report and go on.
_SKIPPABLE_INVITE_ERRORS = {
    "user_not_found", "user_is_inactive", "cant_invite_self", "cant_invite",
    "user_is_restricted", "user_is_ultra_restricted", "ura_max_channels", "already_in_channel",
}
_DESCRIPTION_LIMIT = 250


def error_code(exc: SlackApiError) -> str:
    """Slack's error code of a failed call."""
    return str(exc.response.get("error", "unknown_error"))


# An ephemeral cannot reach the person there (irbot is not in the channel, or it is gone); a
# direct message can. Any other refusal would refuse the DM too, and is raised.
_EPHEMERAL_UNREACHABLE = {"channel_not_found", "not_in_channel", "user_not_in_channel",
                          "is_archived"}


def dm_instead(exc: SlackApiError) -> bool:
    """True when an ephemeral failed only because of where it was sent: send a DM instead."""
    return error_code(exc) in _EPHEMERAL_UNREACHABLE


@task(name="slack-bot-identity", **TASK_OPTIONS)
def bot_identity(client: WebClient) -> dict[str, str]:
    """Who irbot is in this workspace (user id and bot id)."""
    resp = client.auth_test()
    return {"user_id": str(resp["user_id"]), "bot_id": str(resp.get("bot_id") or "")}


@task(name="slack-create-channel", **TASK_OPTIONS)
def create_channel(client: WebClient, name: str, private: bool = False) -> dict[str, Any]:
    """Create a channel (private: scope groups:write); raises SlackApiError (e.g. name_taken)
    when Slack refuses."""
    return dict(client.conversations_create(name=name, is_private=private)["channel"])


@task(name="slack-find-channel", **TASK_OPTIONS)
def find_channel_by_name(client: WebClient, name: str) -> dict[str, Any] | None:
    """The channel with this exact name, archived or not, if the bot can see it."""
    cursor = None
    while True:
        resp = client.conversations_list(
            types="public_channel,private_channel", exclude_archived=False, limit=200,
            cursor=cursor,
        )
        for channel in resp["channels"]:
            if channel.get("name") == name:
                return dict(channel)
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None


@task(name="slack-describe-channel", **TASK_OPTIONS)
def set_description(client: WebClient, channel_id: str, text: str) -> None:
    """Put the case link in the topic and the purpose (plain text, ≤ 250 chars each)."""
    text = text[:_DESCRIPTION_LIMIT]
    client.conversations_setTopic(channel=channel_id, topic=text)
    client.conversations_setPurpose(channel=channel_id, purpose=text)


@task(name="slack-set-topic", **TASK_OPTIONS)
def set_topic(client: WebClient, channel_id: str, text: str) -> None:
    """Replace the channel topic (plain text, ≤ 250 chars); the purpose keeps the case link."""
    client.conversations_setTopic(channel=channel_id, topic=text[:_DESCRIPTION_LIMIT])


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@task(name="slack-invite", **TASK_OPTIONS)
def invite_users(client: WebClient, channel_id: str, user_ids: list[str]) -> dict[str, str]:
    """Invite people in batches; returns {user: reason} for those skipped (deactivated, ...)."""
    skipped: dict[str, str] = {}
    wanted = list(dict.fromkeys(u for u in user_ids if u))
    for batch in _batches(wanted, INVITE_BATCH):
        try:
            client.conversations_invite(channel=channel_id, users=",".join(batch))
        except SlackApiError as exc:
            code = error_code(exc)
            if code == "already_in_channel":
                continue
            if code not in _SKIPPABLE_INVITE_ERRORS:
                raise
            # Without `force` one bad user fails the batch: invite the rest one by one.
            for user in batch:
                try:
                    client.conversations_invite(channel=channel_id, users=user)
                except SlackApiError as single:
                    reason = error_code(single)
                    if reason not in _SKIPPABLE_INVITE_ERRORS:
                        raise
                    if reason not in ("already_in_channel", "cant_invite_self"):
                        skipped[user] = reason
    return skipped


# How far back a retried post looks for itself: our own post is among the newest messages.
_REPOST_LOOKBACK = 100


def find_marked_post(client: WebClient, channel: str, key: str) -> str | None:
    """The ts of our post marked with `key` among the channel's newest messages, if any."""
    try:
        resp = client.conversations_history(channel=channel, limit=_REPOST_LOOKBACK,
                                            include_all_metadata=True)
    except SlackApiError:
        return None  # a DM or a channel we cannot read: nothing to find, post
    for message in resp["messages"]:
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("key") == key:
            return str(message["ts"])
    return None


@task(name="slack-post", **TASK_OPTIONS)
def post_message(
    client: WebClient,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    kind: str = "notice",
    key: str | None = None,
) -> str:
    """Post to a channel, once; returns the message ts.

    Every post is marked with metadata (so backups leave it out) carrying a key that is stable
    across retries and re-runs; a repeated attempt first looks for its own earlier post.
    """
    key = key or notice_key(str(flow_run.get_id() or ""), kind, text)
    if is_repeat_attempt():
        found = find_marked_post(client, channel, key)
        if found:
            return found
    resp = client.chat_postMessage(channel=channel, text=text, blocks=blocks,
                                   metadata=notice_metadata(kind, key))
    return str(resp["ts"])


@task(name="slack-update", **TASK_OPTIONS)
def update_message(
    client: WebClient, channel: str, ts: str, text: str,
    blocks: list[dict[str, Any]] | None = None,
) -> None:
    """Replace a message we posted (e.g. to remove buttons once they were used)."""
    client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks or [])


@task(name="slack-tell-user", **TASK_OPTIONS)
def tell_user(client: WebClient, channel: str | None, user: str, text: str) -> None:
    """Tell one person something: ephemeral where they are, else a direct message."""
    if channel:
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        except SlackApiError as exc:
            if not dm_instead(exc):
                raise
    client.chat_postMessage(channel=user, text=text)


@task(name="slack-archive-channel", **TASK_OPTIONS)
def archive_channel(client: WebClient, channel_id: str) -> None:
    """Archive a channel; one that is already archived is fine."""
    try:
        client.conversations_archive(channel=channel_id)
    except SlackApiError as exc:
        if error_code(exc) != "already_archived":
            raise


_SLACK_HINTS = {
    "missing_scope": "the Slack app lacks a scope: add it from slack-app-manifest.yaml and "
                     "reinstall",
    "not_authed": "the bot token is missing or wrong",
    "invalid_auth": "the bot token is missing or wrong",
    "restricted_action": "a workspace admin setting forbids this for apps",
    "not_in_channel": "invite irbot to the channel first",
}


def describe_slack_error(exc: SlackApiError) -> str:
    """A responder-facing explanation of a Slack refusal."""
    code = error_code(exc)
    hint = _SLACK_HINTS.get(code)
    return f"Slack refused: `{code}`" + (f" ({hint})" if hint else "")


@task(name="slack-user-names", **TASK_OPTIONS)
def user_names(client: WebClient, user_ids: list[str]) -> dict[str, str]:
    """Display names, one users.info call per distinct user."""
    names: dict[str, str] = {}
    for user in sorted(set(user_ids)):
        try:
            info = client.users_info(user=user)["user"]
        except SlackApiError as exc:
            if error_code(exc) != "user_not_found":
                raise
            names[user] = user
            continue
        profile = info.get("profile") or {}
        names[user] = str(profile.get("display_name") or profile.get("real_name")
                          or info.get("real_name") or info.get("name") or user)
    return names


def person(client: WebClient, user: str | None, known: dict[str, str] | None = None) -> str:
    """'Name (U123)' for records read by people months later; never fails the caller."""
    if not user:
        return OPERATOR
    if known and user in known:
        return f"{known[user]} ({user})"
    try:
        return f"{user_names(client, [user])[user]} ({user})"
    except Exception:
        return user
