"""Build requests exactly as Slack sends them to an app: signed slash commands and payloads."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from sandbox.ids import new_trigger_id

DEFAULT_APP_ID = "A0IRBOT"
DEFAULT_TEAM_DOMAIN = "sandbox"
# Slack's legacy verification token travels in every body; apps should ignore it.
DEFAULT_VERIFICATION_TOKEN = "sandbox-verification-token"


def sign(signing_secret: str, body: str | bytes,
         timestamp: int | None = None) -> dict[str, str]:
    """Headers for a request body signed as Slack signs it (v0 HMAC-SHA256 over the raw bytes),
    by slack-sdk's own SignatureVerifier."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    try:
        signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    except UnicodeDecodeError:
        # The verifier decodes the body first; bytes that are not UTF-8 (which Slack never
        # sends, but a fuzzer does) are signed over the raw bytes, as the scheme says.
        assert isinstance(body, bytes)
        digest = hmac.new(signing_secret.encode(), f"v0:{ts}:".encode() + body,
                          hashlib.sha256).hexdigest()
        signature = f"v0={digest}"
    return {
        "X-Slack-Signature": str(signature),
        "X-Slack-Request-Timestamp": str(ts),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def slash_command_body(
    *, command: str = "/irbot", text: str, user_id: str, user_name: str, channel_id: str,
    channel_name: str, team_id: str, response_url: str, trigger_id: str,
    api_app_id: str = DEFAULT_APP_ID, team_domain: str = DEFAULT_TEAM_DOMAIN,
    token: str = DEFAULT_VERIFICATION_TOKEN,
) -> str:
    """The form body of a slash command, fields in the order Slack sends them."""
    return urlencode({
        "token": token,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "response_url": response_url,
        "trigger_id": trigger_id,
    })


def payload_body(payload: dict[str, Any]) -> str:
    """An interactivity body: one form field `payload` holding the JSON."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def _user(user_id: str, user_name: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def view_submission_body(
    *, view: dict[str, Any], values: dict[str, Any], user_id: str, user_name: str,
    team_id: str, trigger_id: str | None = None,
) -> str:
    """A modal submit, as the form body Slack posts."""
    return payload_body(view_submission_payload(
        view=view, values=values, user_id=user_id, user_name=user_name, team_id=team_id,
        trigger_id=trigger_id))


def view_submission_payload(
    *, view: dict[str, Any], values: dict[str, Any], user_id: str, user_name: str,
    team_id: str, api_app_id: str = DEFAULT_APP_ID, trigger_id: str | None = None,
    team_domain: str = DEFAULT_TEAM_DOMAIN, token: str = DEFAULT_VERIFICATION_TOKEN,
) -> dict[str, Any]:
    """A modal submit: `view` is the view as views.open returned it, `values` its input."""
    submitted = {**view, "state": {"values": values}}
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def block_actions_body(
    *, action_id: str, value: str, block_id: str, user_id: str, user_name: str,
    channel_id: str, message_ts: str, team_id: str, response_url: str, trigger_id: str,
    message: dict[str, Any] | None = None, button_text: str | None = None,
) -> str:
    """A button click, as the form body Slack posts."""
    return payload_body(block_actions_payload(
        action_id=action_id, value=value, block_id=block_id, user_id=user_id,
        user_name=user_name, channel_id=channel_id, message_ts=message_ts, team_id=team_id,
        response_url=response_url, trigger_id=trigger_id, message=message,
        button_text=button_text))


def block_actions_payload(
    *, action_id: str, value: str, block_id: str, user_id: str, user_name: str,
    channel_id: str, message_ts: str, team_id: str, response_url: str, trigger_id: str,
    message: dict[str, Any] | None = None, channel_name: str = "",
    api_app_id: str = DEFAULT_APP_ID, team_domain: str = DEFAULT_TEAM_DOMAIN,
    token: str = DEFAULT_VERIFICATION_TOKEN, button_text: str | None = None,
) -> dict[str, Any]:
    """A button click on a message (the only interactive element this project uses)."""
    action_ts = f"{time.time():.6f}"
    return {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                      "is_ephemeral": False},
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": message if message is not None else {"type": "message", "ts": message_ts},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [{
            "action_id": action_id,
            "block_id": block_id,
            "text": {"type": "plain_text", "text": button_text or value, "emoji": True},
            "value": value,
            "type": "button",
            "action_ts": action_ts,
        }],
    }
