"""sandbox.signing: Slack's published vector, and bodies Slack's own verifier accepts."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from sandbox.signing import block_actions_body, sign, slash_command_body, view_submission_body
from tests.support import VECTOR_BODY, VECTOR_SECRET, VECTOR_SIGNATURE, VECTOR_TS


class FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_sign_matches_slacks_published_vector() -> None:
    headers = sign(VECTOR_SECRET, VECTOR_BODY, VECTOR_TS)
    assert headers == {
        "X-Slack-Signature": VECTOR_SIGNATURE,
        "X-Slack-Request-Timestamp": str(VECTOR_TS),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    # The verifier Bolt uses agrees, within Slack's five minutes and not after them.
    at_the_time = SignatureVerifier(VECTOR_SECRET, clock=FixedClock(VECTOR_TS + 10))
    assert at_the_time.is_valid(VECTOR_BODY, str(VECTOR_TS), VECTOR_SIGNATURE)
    assert not at_the_time.is_valid(VECTOR_BODY + "x", str(VECTOR_TS), VECTOR_SIGNATURE)
    too_late = SignatureVerifier(VECTOR_SECRET, clock=FixedClock(VECTOR_TS + 301))
    assert not too_late.is_valid(VECTOR_BODY, str(VECTOR_TS), VECTOR_SIGNATURE)


def test_sign_defaults_to_now_and_satisfies_slack_sdk_verifier() -> None:
    body = slash_command_body(
        text="create", user_id="U1", user_name="alice", channel_id="C1", channel_name="general",
        team_id="T1", response_url="http://x/r", trigger_id="1.2.3")
    headers = sign("secret", body)
    assert abs(int(headers["X-Slack-Request-Timestamp"]) - time.time()) < 5
    assert SignatureVerifier("secret").is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)


def test_slash_command_body_has_exactly_slacks_fields() -> None:
    body = slash_command_body(
        text="page db help", user_id="U1", user_name="alice", channel_id="C1",
        channel_name="ops", team_id="T1", response_url="http://x/r", trigger_id="1.2.3")
    fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    assert set(fields) == {"token", "team_id", "team_domain", "channel_id", "channel_name",
                           "user_id", "user_name", "command", "text", "api_app_id",
                           "response_url", "trigger_id"}
    assert fields["command"] == "/irbot"
    assert fields["text"] == "page db help"
    assert fields["api_app_id"] == "A0IRBOT"


def test_view_submission_payload() -> None:
    view = {"id": "V1", "type": "modal", "callback_id": "create", "blocks": [],
            "state": {"values": {}}}
    values = {"summary": {"summary_input": {"type": "plain_text_input", "value": "disk"}}}
    body = view_submission_body(view=view, values=values, user_id="U1", user_name="alice",
                                team_id="T1")
    payload = json.loads(parse_qs(body)["payload"][0])
    assert payload["type"] == "view_submission"
    assert payload["user"] == {"id": "U1", "username": "alice", "name": "alice",
                               "team_id": "T1"}
    assert payload["view"]["id"] == "V1"
    assert payload["view"]["state"] == {"values": values}
    assert payload["response_urls"] == []
    assert payload["trigger_id"] and payload["token"] and payload["api_app_id"]


def test_block_actions_payload() -> None:
    body = block_actions_body(
        action_id="cancel_archive", value="run-1", block_id="b1", user_id="U1",
        user_name="alice", channel_id="C1", message_ts="1700000000.000100", team_id="T1",
        response_url="http://x/r", trigger_id="1.2.3")
    payload = json.loads(parse_qs(body)["payload"][0])
    assert payload["type"] == "block_actions"
    (action,) = payload["actions"]
    assert action["action_id"] == "cancel_archive"
    assert action["value"] == "run-1"
    assert action["type"] == "button"
    assert payload["container"] == {"type": "message", "message_ts": "1700000000.000100",
                                    "channel_id": "C1", "is_ephemeral": False}
    assert payload["channel"]["id"] == "C1"
    assert payload["message"]["ts"] == "1700000000.000100"
    assert payload["response_url"] == "http://x/r"
