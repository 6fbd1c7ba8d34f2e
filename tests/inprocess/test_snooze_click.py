"""The Snooze button through the real Bolt app in this process: a click is answered at once and
starts one remind-incident run keyed by the reminder (a double click snoozes once); a click that
does not say which reminder starts nothing and says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sandbox.signing import block_actions_payload, payload_body
from tasks import deployments
from tasks.messages import REMINDER_SNOOZE_ACTION
from tests.inprocess.support import InProcessWebhook
from webhook import replies

TS = "1700000000.000100"


def click(webhook: InProcessWebhook, user: str, channel: str, value: str | None = None,
          ts: str = TS) -> dict[str, Any]:
    return block_actions_payload(
        action_id=REMINDER_SNOOZE_ACTION, value=channel if value is None else value,
        block_id="irbot_reminder", user_id=user, user_name="tester", channel_id=channel,
        message_ts=ts, team_id=webhook.sandbox.team_id, response_url=webhook.response_url(),
        trigger_id="1.2.3")


async def test_a_snooze_click_starts_one_run_keyed_by_the_reminder(
        webhook: InProcessWebhook, responder: tuple[str, str]) -> None:
    user, channel = responder
    for _ in range(2):  # a double click: the same key twice, so Prefect makes one run
        resp = await webhook.post(payload_body(click(webhook, user, channel)))
        assert resp.status_code == 200
    assert webhook.handoff.started == [
        (deployments.REMIND, {"channel_id": channel, "snoozed_by": user, "reminder_ts": TS},
         f"snooze-{channel}-{TS}")] * 2
    answers = webhook.answers()
    assert [a["text"] for a in answers] == [replies.SNOOZING] * 2
    assert all(a["response_type"] == "ephemeral" and a["replace_original"] is False
               for a in answers)


def _no_container(p: dict[str, Any]) -> None:
    p.pop("container")


def _no_user(p: dict[str, Any]) -> None:
    p.pop("user")


def _odd_value(p: dict[str, Any]) -> None:
    p["actions"][0]["value"] = "../C1"


@pytest.mark.parametrize("spoil", [_no_container, _no_user, _odd_value])
async def test_a_snooze_click_without_its_reminder_starts_nothing(
        webhook: InProcessWebhook, responder: tuple[str, str],
        spoil: Callable[[dict[str, Any]], None]) -> None:
    user, channel = responder
    payload = click(webhook, user, channel)
    spoil(payload)
    resp = await webhook.post(payload_body(payload))
    assert resp.status_code == 200
    assert webhook.handoff.started == []
    assert [a["text"] for a in webhook.answers()] == [replies.SNOOZE_UNREADABLE]
