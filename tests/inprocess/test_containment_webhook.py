"""`/irbot contain|lift` and the card's buttons through the real Bolt app in this process:
what is started (recorded in place of Prefect) and what responders are told."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox.signing import block_actions_payload, payload_body
from sandbox.stack import CONTAIN_GROUP
from tasks import deployments
from tasks.messages import CONTAIN_CANCEL_ACTION, CONTAIN_CONFIRM_ACTION
from tasks.settings import Settings
from tasks.state import IncidentState
from tests.inprocess.support import InProcessWebhook
from webhook import replies

DEVICE = "0123456789abcdef0123456789abcdef"
CARD_TS = "1700000000.000200"


@pytest.fixture(scope="module")
def crew(sandbox: Any) -> dict[str, str]:
    """The commander, a bystander, a member of the allowed group."""
    people = {name: str(sandbox.add_user(name, name.title())) for name in
              ("cmdr", "bystander", "grouped")}
    sandbox.add_usergroup("containers", [people["grouped"]], group_id=CONTAIN_GROUP)
    return people


@pytest.fixture
def incident(webhook: InProcessWebhook, crew: dict[str, str]) -> str:
    channel = f"C{uuid.uuid4().hex[:9].upper()}"
    webhook.handoff.incidents[channel] = IncidentState(
        case_key="SEC-7", case_url="https://jira.example/browse/SEC-7", channel_id=channel,
        channel_name="incident_channel_sec-7", created_by=crew["cmdr"],
        created_at=datetime.now(UTC))
    return channel


def card_value(action: str = "contain", requested_by: str = "") -> str:
    return json.dumps({"a": action, "d": DEVICE, "h": "web-01", "r": requested_by,
                       "run": str(uuid.UUID(int=7))})


async def click(webhook: InProcessWebhook, channel: str, user: str, action_id: str,
                value: str) -> list[dict[str, Any]]:
    """Press a card's button; returns what the webhook then told the clicker."""
    url = webhook.response_url()
    body = payload_body(block_actions_payload(
        action_id=action_id, value=value, block_id="irbot_contain", user_id=user,
        user_name="tester", channel_id=channel, message_ts=CARD_TS,
        team_id=webhook.sandbox.team_id, response_url=url, trigger_id="1.2.3"))
    answer = await webhook.post(body)
    assert answer.status_code == 200
    return [r["body"] for r in webhook.sandbox.responses if r["url"] == url]


async def test_contain_starts_the_lookup_run(webhook: InProcessWebhook, incident: str,
                                            crew: dict[str, str]) -> None:
    answer = await webhook.post(webhook.command_body("contain web-01", crew["bystander"],
                                                     incident))
    assert answer.status_code == 200 and answer.text == ""
    [(deployment, params, key)] = webhook.handoff.started
    assert deployment == deployments.CONTAIN and key.startswith("contain-")
    assert params == {"channel_id": incident, "hostname": "web-01",
                      "requested_by": crew["bystander"]}
    assert webhook.answers()[-1]["text"] == replies.looking_up("web-01")
    assert webhook.answers()[-1]["response_type"] == "ephemeral"


@pytest.mark.parametrize(("text", "says"), [
    ("contain", "Name one host"), ("lift web'01", "is not a hostname")])
async def test_bad_hostnames_are_refused_in_the_ack(webhook: InProcessWebhook, incident: str,
                                                    crew: dict[str, str], text: str,
                                                    says: str) -> None:
    answer = await webhook.post(webhook.command_body(text, crew["cmdr"], incident))
    assert answer.status_code == 200 and says in answer.text
    assert not webhook.handoff.anything_started


async def test_outside_an_incident(webhook: InProcessWebhook, responder: tuple[str, str]) -> None:
    user, channel = responder
    answer = await webhook.post(webhook.command_body("lift web-01", user, channel))
    assert answer.status_code == 200
    assert "is not an open incident, so there is nothing to lift" in answer.text + json.dumps(
        webhook.answers())
    assert not webhook.handoff.anything_started


async def test_not_configured(webhook_settings: Settings, monkeypatch: pytest.MonkeyPatch,
                              sandbox: Any, responder: tuple[str, str]) -> None:
    import httpx

    from tests.conftest import SIGNING_SECRET
    from tests.inprocess.support import RecordingHandoff
    from webhook.app import create_api

    monkeypatch.delenv("FALCON_CLIENT_SECRET")
    bare = webhook_settings.model_copy(update={"FALCON_CLIENT_SECRET": None})
    handoff = RecordingHandoff()
    transport = httpx.ASGITransport(app=create_api(bare, handoff))
    async with httpx.AsyncClient(transport=transport, base_url="http://irbot.test") as http:
        hook = InProcessWebhook(http, handoff, sandbox, SIGNING_SECRET)
        for text in ("contain web-01", "lift web-01"):
            answer = await hook.post(hook.command_body(text, *responder))
            assert answer.status_code == 200 and answer.text == replies.CONTAIN_NOT_CONFIGURED
    assert not handoff.anything_started


async def test_only_the_commander_or_the_allowed_may_confirm(
        webhook: InProcessWebhook, incident: str, crew: dict[str, str]) -> None:
    refused = await click(webhook, incident, crew["bystander"], CONTAIN_CONFIRM_ACTION,
                          card_value())
    assert refused == [{"text": replies.not_allowed_to_confirm(crew["cmdr"], "containment"),
                        "response_type": "ephemeral", "replace_original": False}]
    assert not webhook.handoff.anything_started

    assert await click(webhook, incident, crew["cmdr"], CONTAIN_CONFIRM_ACTION,
                       card_value()) == []
    [(deployment, params, key)] = webhook.handoff.started
    assert deployment == deployments.CONTAIN
    assert key == f"contain-decision-{uuid.UUID(int=7)}"
    assert params == {"channel_id": incident, "hostname": "web-01", "requested_by": None,
                      "decision": "confirm", "decided_by": crew["cmdr"], "device_id": DEVICE,
                      "card_ts": CARD_TS}
    # The same click again starts nothing new; someone else's later click is told.
    assert await click(webhook, incident, crew["cmdr"], CONTAIN_CONFIRM_ACTION,
                       card_value()) == []
    late = await click(webhook, incident, crew["grouped"], CONTAIN_CANCEL_ACTION, card_value())
    assert late[0]["text"] == replies.host_already_decided(crew["cmdr"], "confirm")


async def test_a_member_of_an_allowed_group_may_confirm(
        webhook: InProcessWebhook, incident: str, crew: dict[str, str], sandbox: Any) -> None:
    before = len(sandbox.requests("slack", "usergroups.users.list"))
    assert await click(webhook, incident, crew["grouped"], CONTAIN_CONFIRM_ACTION,
                       card_value("lift")) == []
    [(deployment, params, _)] = webhook.handoff.started
    assert deployment == deployments.LIFT and params["decided_by"] == crew["grouped"]
    [asked] = sandbox.requests("slack", "usergroups.users.list")[before:]
    assert asked.params["usergroup"] == CONTAIN_GROUP


async def test_cancel(webhook: InProcessWebhook, incident: str, crew: dict[str, str]) -> None:
    refused = await click(webhook, incident, crew["bystander"], CONTAIN_CANCEL_ACTION,
                          card_value(requested_by=crew["grouped"]))
    assert refused[0]["text"] == replies.not_allowed_to_cancel(crew["cmdr"])
    # Whoever asked may take it back.
    assert await click(webhook, incident, crew["bystander"], CONTAIN_CANCEL_ACTION,
                       card_value(requested_by=crew["bystander"])) == []
    [(_, params, _)] = webhook.handoff.started
    assert (params["decision"], params["decided_by"]) == ("cancel", crew["bystander"])


@pytest.mark.parametrize("value", ["", "{}", "not json",
                                   json.dumps({"a": "contain", "d": "x'", "h": "w", "run": ""})])
async def test_a_button_that_is_not_a_card(webhook: InProcessWebhook, incident: str,
                                           crew: dict[str, str], value: str) -> None:
    told = await click(webhook, incident, crew["cmdr"], CONTAIN_CONFIRM_ACTION, value)
    assert told[0]["text"] == replies.HOST_BUTTON_UNREADABLE
    assert not webhook.handoff.anything_started
