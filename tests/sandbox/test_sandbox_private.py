"""Private channels in the Slack emulator: recorded as private, and gated by groups:write."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox import Sandbox
from tasks.slack_scopes import BOT_SCOPES


def test_private_channel_is_recorded_private(slack: WebClient, sb: Sandbox) -> None:
    made = slack.conversations_create(name="incident_channel_sec-9", is_private=True)["channel"]
    assert made["is_private"] is True
    assert sb.channel(made["id"])["is_private"] is True
    listed = slack.conversations_list(types="private_channel")["channels"]
    assert [c["id"] for c in listed] == [made["id"]]
    public = slack.conversations_create(name="open", is_private=False)["channel"]
    assert public["is_private"] is False


def test_private_channel_needs_groups_write() -> None:
    with Sandbox(bot_scopes=tuple(s for s in BOT_SCOPES if s != "groups:write")) as box:
        slack = WebClient(token=box.bot_token, base_url=box.slack_api_url)
        try:
            slack.conversations_create(name="incident_channel_sec-9", is_private=True)
        except SlackApiError as exc:
            assert exc.response["error"] == "missing_scope"
            assert exc.response["needed"] == "groups:write"
        else:
            raise AssertionError("a private channel was created without groups:write")
        assert slack.conversations_create(name="still_public")["ok"]
