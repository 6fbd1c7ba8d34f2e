"""The sandbox's Socket Mode and the facts `irbot check` reads: app tokens, x-oauth-scopes,
Jira's mypermissions. Driven with the real slack-sdk (its Socket Mode client too) and jira."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from jira import JIRA
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox
from tasks.slack_scopes import BOT_SCOPES, scopes_header


def test_bot_answers_carry_the_scopes_and_only_the_app_token_opens_sockets(
        sb: Sandbox, slack: WebClient) -> None:
    answer = slack.auth_test()
    assert scopes_header(answer.headers.get("x-oauth-scopes")) == set(BOT_SCOPES)
    with pytest.raises(SlackApiError) as bot:
        slack.apps_connections_open(app_token=sb.bot_token)
    assert bot.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as wrong:
        slack.apps_connections_open(app_token="xapp-1-wrong")
    assert wrong.value.response["error"] == "invalid_auth"
    opened = slack.apps_connections_open(app_token=sb.app_token)
    assert str(opened["url"]).startswith(sb.url.replace("http", "ws", 1) + "/slack/socket?")
    assert opened.headers.get("x-oauth-scopes") == "connections:write"
    with pytest.raises(SlackApiError) as app_elsewhere:
        WebClient(token=sb.app_token, base_url=sb.slack_api_url).auth_test()
    assert app_elsewhere.value.response["error"] == "not_allowed_token_type"


def test_a_configured_scope_set_is_what_slack_reports() -> None:
    with Sandbox(bot_scopes=("commands", "chat:write")) as box:
        answer = WebClient(token=box.bot_token, base_url=box.slack_api_url).auth_test()
        assert scopes_header(answer.headers.get("x-oauth-scopes")) == {"commands", "chat:write"}


def test_mypermissions_reports_what_the_account_holds(jira: JIRA) -> None:
    held = jira.my_permissions(projectKey="SEC", permissions="CREATE_ISSUES,ADD_COMMENTS")
    assert {k: v["havePermission"] for k, v in held["permissions"].items()} == {
        "CREATE_ISSUES": True, "ADD_COMMENTS": True}
    assert [t["name"] for t in jira.project("SEC").raw["issueTypes"]][:2] == ["Task", "Bug"]
    with Sandbox(jira_permissions=("CREATE_ISSUES",)) as box:
        other = JIRA(server=box.jira_url, basic_auth=(box.jira_user, box.jira_token),
                     get_server_info=False, max_retries=0, timeout=10)
        held = other.my_permissions(projectKey="SEC", permissions="CREATE_ISSUES,ADD_COMMENTS")
        assert held["permissions"]["ADD_COMMENTS"]["havePermission"] is False


async def test_hello_envelope_ack_and_refresh_with_slacks_own_client(sb: Sandbox) -> None:
    client = SocketModeClient(app_token=sb.app_token, ping_interval=1,
                              web_client=AsyncWebClient(base_url=sb.slack_api_url))
    seen: list[dict[str, Any]] = []

    async def on_message(c: Any, message: dict[str, Any], raw: str | None) -> None:
        seen.append(message)

    async def on_request(c: SocketModeClient, req: SocketModeRequest) -> None:
        await c.send_socket_mode_response(SocketModeResponse(
            envelope_id=req.envelope_id, payload={"text": f"got {req.payload['text']}"}))

    client.message_listeners.append(on_message)
    client.socket_mode_request_listeners.append(on_request)
    try:
        await client.connect()
        assert await asyncio.to_thread(sb.wait_socket, 1, 5)
        envelope = await asyncio.to_thread(sb.socket_send, "slash_commands", {"text": "help"})
        ack = await asyncio.to_thread(sb.socket_ack, envelope, 5)
        assert ack == {"envelope_id": envelope, "payload": {"text": "got help"}}
        assert seen[0]["type"] == "hello" and seen[1]["type"] == "slash_commands"

        assert await asyncio.to_thread(sb.socket_disconnect) == 1
        for _ in range(50):  # the client reconnects on `disconnect`
            if sb.socket_status()["opened"] == 2:
                break
            await asyncio.sleep(0.1)
        assert sb.socket_status()["opened"] == 2
        assert [m["type"] for m in seen].count("hello") == 2
        again = await asyncio.to_thread(sb.socket_send, "slash_commands", {"text": "status"})
        assert (await asyncio.to_thread(sb.socket_ack, again, 5) or {})["payload"] == {
            "text": "got status"}
    finally:
        await client.close()
