"""Slack Bolt's AsyncApp against the sandbox, fed with the signing helpers' requests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox
from sandbox.signing import sign, slash_command_body, view_submission_body

SECRET = "bolt-test-signing-secret"
MODAL = {"type": "modal", "callback_id": "create", "title": {"type": "plain_text",
         "text": "New incident"}, "submit": {"type": "plain_text", "text": "Create"},
         "blocks": [{"type": "input", "block_id": "summary", "label": {
             "type": "plain_text", "text": "Summary"}, "element": {
             "type": "plain_text_input", "action_id": "value"}}]}


def signed(body: str, secret: str = SECRET) -> dict[str, str | Sequence[str]]:
    return dict(sign(secret, body))


async def test_bolt_round_trip(sb: Sandbox) -> None:
    client = AsyncWebClient(token=sb.bot_token, base_url=sb.slack_api_url)
    app = AsyncApp(client=client, signing_secret=SECRET, process_before_response=True)
    submitted: list[dict[str, Any]] = []

    @app.command("/irbot")
    async def on_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                         client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)
        await respond("Opening the form")

    @app.view("create")
    async def on_submit(ack: AsyncAck, view: dict[str, Any]) -> None:
        await ack()
        submitted.append(view["state"]["values"])

    alice = sb.add_user("alice")
    cid = sb.add_channel("general", [alice])
    body = slash_command_body(
        text="create", user_id=alice, user_name="alice", channel_id=cid,
        channel_name="general", team_id=sb.team_id, response_url=sb.response_url(),
        trigger_id=sb.new_trigger_id(alice))
    answer = await app.async_dispatch(AsyncBoltRequest(body=body, headers=signed(body)))
    assert answer.status == 200
    assert [r.name for r in sb.requests("slack")] == ["auth.test", "views.open", "response_url"]
    assert sb.responses[0]["body"]["text"] == "Opening the form"

    (view,) = sb.views.values()
    values = {"summary": {"value": {"type": "plain_text_input", "value": "DB down"}}}
    submit = view_submission_body(view=view, values=values, user_id=alice, user_name="alice",
                                  team_id=sb.team_id)
    answer = await app.async_dispatch(AsyncBoltRequest(body=submit,
                                                       headers=signed(submit)))
    assert answer.status == 200
    assert submitted == [values]

    forged = await app.async_dispatch(AsyncBoltRequest(body=submit,
                                                       headers=signed(submit, "wrong")))
    assert forged.status == 401
    assert json.loads(forged.body) == {"error": "invalid request"}
