"""The roles' commands and forms through the real Bolt app in this process: what each starts
(deployment, parameters, idempotency key), and what it refuses at once. Prefect is the
recorder; Slack is the sandbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sandbox.driver import form_values
from sandbox.signing import view_submission_body
from tasks import deployments
from tasks.state import IncidentState
from tests.inprocess.support import InProcessWebhook

TOKEN = "ghp_" + "Zq8w" * 9


@pytest.fixture
def incident(webhook: InProcessWebhook, sandbox: Any) -> tuple[str, str]:
    """A user and an incident channel the recorder knows (status: identified)."""
    user = sandbox.add_user("rolf", "Rolf Roles")
    channel = sandbox.add_channel(f"incident_channel_sec-{uuid.uuid4().hex[:8]}", members=[user])
    webhook.handoff.incidents[channel] = IncidentState(
        case_key="SEC-9", case_url="https://jira.example.com/browse/SEC-9", channel_id=channel,
        channel_name="incident_channel_sec-9", created_by=user, created_at=datetime.now(UTC),
        update_status="identified")
    return str(user), str(channel)


async def command(webhook: InProcessWebhook, text: str, user: str,
                  channel: str) -> tuple[httpx.Response, str]:
    body = webhook.command_body(text, user, channel)
    return await webhook.post(body), dict(httpx.QueryParams(body))["trigger_id"]


def opened(sandbox: Any, trigger: str) -> dict[str, Any]:
    [view] = [v for v in sandbox.views.values() if v.get("trigger_id") == trigger]
    return dict(view)


async def submit(webhook: InProcessWebhook, view: dict[str, Any], values: dict[str, Any],
                 user: str) -> httpx.Response:
    return await webhook.post(view_submission_body(
        view=view, values=values, user_id=user, user_name="rolf",
        team_id=webhook.sandbox.team_id))


@pytest.mark.parametrize(
    ("text", "deployment", "params"),
    [
        ("commander <@U0BOB|bob>", deployments.COMMANDER, {"commander": "U0BOB"}),
        ("commander", deployments.COMMANDER, {"commander": "ME"}),
        ("severity sev1", deployments.SEVERITY, {"severity": "SEV-1"}),
        ("update db &lt;primary&gt; back, see <https://s.example.com|status> " + TOKEN,
         deployments.UPDATE,
         {"summary": "db <primary> back, see status (https://s.example.com) "
                     "[redacted: GitHub Token]"}),
    ],
)
async def test_commands_start_their_run(webhook: InProcessWebhook, incident: tuple[str, str],
                                        text: str, deployment: str,
                                        params: dict[str, str]) -> None:
    user, channel = incident
    resp, trigger = await command(webhook, text, user, channel)
    assert resp.status_code == 200 and resp.text == ""
    expected = {k: (user if v == "ME" else v) for k, v in params.items()}
    [(started, given, key)] = webhook.handoff.started
    assert started == deployment
    assert given == {"channel_id": channel, **expected, "requested_by": user}
    assert key == f"{deployment.partition('-')[0]}-{trigger}"
    assert len(webhook.answers()) == 1 and TOKEN not in json.dumps(webhook.answers())


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("commander @bob", "pick the person from Slack's list"),
        ("commander bob", "does not name a Slack user"),
        ("commander <@U1|a> <@U2|b>", "Name one person"),
        ("severity SEV-9", "`SEV-9` is not a severity"),
        ("severity", "`SEV-1`, `SEV-2`, `SEV-3`, `SEV-4`"),
    ],
)
async def test_bad_people_and_levels_are_refused_in_the_ack(
        webhook: InProcessWebhook, incident: tuple[str, str], text: str, says: str) -> None:
    user, channel = incident
    resp, _ = await command(webhook, text, user, channel)
    assert resp.status_code == 200 and says in resp.text
    assert not webhook.handoff.anything_started


@pytest.mark.parametrize("text", ["commander", "severity SEV-2", "update hi", "update",
                                  "handover"])
async def test_outside_an_incident_nothing_starts(webhook: InProcessWebhook,
                                                  responder: tuple[str, str], text: str) -> None:
    user, channel = responder
    resp, trigger = await command(webhook, text, user, channel)
    assert resp.status_code == 200
    assert any("not an open incident" in a.get("text", "") for a in webhook.answers()) or \
        "not an open incident" in resp.text
    assert not webhook.handoff.anything_started
    assert not [v for v in webhook.sandbox.views.values() if v.get("trigger_id") == trigger]


async def test_page_messages_are_plain_and_masked(webhook: InProcessWebhook,
                                                  responder: tuple[str, str]) -> None:
    user, channel = responder
    await command(webhook, f"page engineering <#C1|ops> says {TOKEN}", user, channel)
    [(_, given, _)] = webhook.handoff.started
    assert given["message"] == "#ops says [redacted: GitHub Token]"


async def test_update_form(webhook: InProcessWebhook, incident: tuple[str, str],
                           sandbox: Any) -> None:
    user, channel = incident
    _, trigger = await command(webhook, "update", user, channel)
    view = opened(sandbox, trigger)
    [status] = [b for b in view["blocks"] if b["block_id"] == "status"]
    assert status["element"]["initial_option"]["value"] == "identified"  # the current one
    empty = await submit(webhook, view, form_values(view, {"status": "monitoring"}), user)
    assert empty.json()["response_action"] == "errors" and "summary" in empty.json()["errors"]
    assert not webhook.handoff.started
    done = await submit(webhook, view, form_values(view, {
        "status": "monitoring", "summary": f"a &lt; b, key {TOKEN}"}), user)
    assert done.status_code == 200 and done.text == ""
    [(started, given, key)] = webhook.handoff.started
    assert started == deployments.UPDATE and key == f"update-{view['id']}"
    # Form text arrives as typed: left as it is, but masked.
    assert given == {"channel_id": channel, "status": "monitoring",
                     "summary": "a &lt; b, key [redacted: GitHub Token]", "requested_by": user}


async def test_handover_form(webhook: InProcessWebhook, incident: tuple[str, str],
                             sandbox: Any) -> None:
    user, channel = incident
    _, trigger = await command(webhook, "handover", user, channel)
    view = opened(sandbox, trigger)
    unnamed = await submit(webhook, view, form_values(view, {"known": "x"}), user)
    assert "next_commander" in unnamed.json()["errors"]
    await submit(webhook, view, form_values(view, {
        "known": f"cert expired, {TOKEN}", "actions": "renew", "next_commander": "U0BOB"}), user)
    [(started, given, key)] = webhook.handoff.started
    assert started == deployments.HANDOVER and key == f"handover-{view['id']}"
    assert given == {"channel_id": channel, "next_commander": "U0BOB",
                     "known": "cert expired, [redacted: GitHub Token]", "in_progress": "",
                     "actions": "renew", "requested_by": user}
