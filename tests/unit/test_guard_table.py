"""The webhook's guard, step by step, on literal requests (pure; no app, no server)."""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt.logger.messages import warning_unhandled_request
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.payload_utils import to_action, to_view
from slack_sdk.signature import Clock, SignatureVerifier

from sandbox.malformed import Origin, malformed_requests
from sandbox.signing import sign
from webhook.guard import (
    INVALID,
    MAX_BODY_BYTES,
    Refusal,
    bolt_content_type,
    refuse_body,
    refuse_headers,
    refuse_length,
    verified_text,
)

SECRET = "unit-signing-secret"
NOW = 1_700_000_000
FORM = "application/x-www-form-urlencoded"
COMMAND = "command=%2Firbot&text=help&user_id=U1&channel_id=C1"


class FixedClock(Clock):
    def now(self) -> float:
        return NOW


VERIFIER = SignatureVerifier(SECRET, clock=FixedClock())


def headers(body: bytes | str, **override: str) -> dict[str, str]:
    signed = {k.lower(): v for k, v in sign(SECRET, body, timestamp=NOW).items()}
    return {**signed, **override}


@pytest.mark.parametrize(("given", "status"), [
    ({}, 401),
    ({"x-slack-signature": "v0=ab"}, 401),
    ({"x-slack-request-timestamp": str(NOW)}, 401),
    ({"x-slack-request-timestamp": "yesterday", "x-slack-signature": "v0=ab"}, 401),
    ({"x-slack-request-timestamp": "\u0661\u0662", "x-slack-signature": "v0=ab"}, 401),
    ({"x-slack-request-timestamp": str(NOW), "x-slack-signature": "v0=\u00e9"}, 401),
    ({"x-slack-request-timestamp": f" {NOW} ", "x-slack-signature": "v0=ab"}, None),
    ({"x-slack-request-timestamp": str(NOW), "x-slack-signature": "v0=ab"}, None),
], ids=["none", "no timestamp", "no signature", "word timestamp", "non-ascii digits",
        "non-ascii signature", "padded timestamp", "well formed"])
def test_signature_headers(given: dict[str, str], status: int | None) -> None:
    refusal = refuse_headers(given)
    assert (refusal.status if refusal else None) == status
    if refusal:
        assert refusal.answer() == INVALID  # exactly what Bolt answers


@pytest.mark.parametrize(("length", "status"), [
    (None, None), ("0", None), (str(MAX_BODY_BYTES), None), (str(MAX_BODY_BYTES + 1), 413),
    ("99999999999999999999", 413), ("-1", 400), ("12abc", 400), ("\u0661", 400),
])
def test_declared_length(length: str | None, status: int | None) -> None:
    refusal = refuse_length(length)
    assert (refusal.status if refusal else None) == status


def test_verified_text_accepts_only_the_signed_body() -> None:
    body = COMMAND.encode()
    assert verified_text(VERIFIER, headers(body), body) == COMMAND
    for bad in (headers(body + b"x"), headers(body, **{"x-slack-signature": "v0=00"}),
                {**headers(body), **{k.lower(): v for k, v in
                                     sign(SECRET, body, timestamp=NOW - 301).items()}}):
        refusal = verified_text(VERIFIER, bad, body)
        assert isinstance(refusal, Refusal) and refusal.status == 401


def test_bytes_that_are_not_utf8_cannot_be_verified() -> None:
    body = b"\xff\xfe\x00"
    refusal = verified_text(VERIFIER, headers(body), body)
    assert isinstance(refusal, Refusal) and refusal.status == 401
    assert "UTF-8" in refusal.reason


@pytest.mark.parametrize(("values", "expected"), [
    ([], None), ([""], None), ([FORM], FORM), (["application/json; charset=utf-8"],
                                               "application/json"),
    ([FORM, "application/json"], "application/json"),  # Bolt keeps the last header
])
def test_content_type_as_bolt_reads_it(values: list[str], expected: str | None) -> None:
    assert bolt_content_type(values) == expected


def _p(payload: Any) -> str:
    return urlencode({"payload": json.dumps(payload)})


CLICK = {"type": "block_actions", "user": {"id": "U1"}, "response_url": "http://x/r",
         "actions": [{"action_id": "a", "value": "v"}]}
SUBMIT = {"type": "view_submission", "user": {"id": "U1"},
          "view": {"id": "V1", "type": "modal", "callback_id": "c",
                   "state": {"values": {"b": {"a": {"value": "x"}}}}}}


@pytest.mark.parametrize(("body", "content_type", "status", "says"), [
    (COMMAND, FORM, None, ""),
    ("ssl_check=1&token=x", FORM, None, ""),
    (_p(CLICK), FORM, None, ""),
    (_p(SUBMIT), FORM, None, ""),
    (_p({**CLICK, "enterprise": None, "team": None, "message": None}), FORM, None, ""),
    ("", FORM, 400, "empty"),
    ("text=hi", FORM, 400, "no `command`"),
    ("&&&", None, 400, "no `command`"),
    (COMMAND + "&view=x", FORM, 400, "`view` must be an object"),
    (COMMAND + "&response_urls=x", FORM, 400, "`response_urls`"),
    (COMMAND.replace("help", "payload"), FORM, 404, "no `payload` field"),
    ("payload=", FORM, 400, "not valid JSON"),
    ("payload=%5B1%5D", FORM, 400, "not a JSON object"),
    ("payload=" + "%5B" * 100_000, FORM, 400, "not valid JSON"),
    (_p({"type": None}), FORM, 400, "no string `type`"),
    (_p({**CLICK, "type": "shortcut"}), FORM, 404, "`shortcut` payloads"),
    (_p({**CLICK, "type": "<script>"}), FORM, 404, "this payload type"),
    (_p({**CLICK, "command": "/irbot"}), FORM, 400, "`command`"),
    (_p({**CLICK, "team": 1}), FORM, 400, "`team`"),
    (_p({**CLICK, "user": {"id": ["U1"]}}), FORM, 400, "`user`"),
    (_p({**CLICK, "authorizations": [{"team_id": 1}]}), FORM, 400, "authorizations[].team_id"),
    (_p({**CLICK, "authorizations": [{"authorizations": []}]}), FORM, 400, "nest"),
    (_p({**CLICK, "response_urls": [{"response_url": 1}]}), FORM, 400, "response_url"),
    (_p({**CLICK, "response_urls": [{"response_url": "x"}]}), FORM, 400, "http(s) URL"),
    (_p({**CLICK, "response_url": "\u202e"}), FORM, 400, "`response_url` must be an http"),
    (_p({**CLICK, "response_url": "http://[::1"}), FORM, 400, "`response_url`"),
    (_p({**CLICK, "response_url": "ftp://x/y"}), FORM, 400, "`response_url`"),
    (_p({**CLICK, "response_url": "https://hooks.slack.com/a b"}), FORM, 400, "`response_url`"),
    (_p({**CLICK, "response_url": ""}), FORM, None, ""),
    (COMMAND + "&response_url=javascript%3Ax", FORM, 400, "`response_url`"),
    (_p({**CLICK, "actions": [{"action_id": "a", "value": 5}]}), FORM, 400, "actions[].value"),
    (_p({**CLICK, "actions": None}), FORM, 400, "`actions`"),
    (_p({**SUBMIT, "view": {**SUBMIT["view"], "type": None}}), FORM, 400, "callback_id and type"),
    (_p({**SUBMIT, "view": {**SUBMIT["view"], "state": None}}), FORM, 400, "state.values"),
    (_p({**SUBMIT, "view": {**SUBMIT["view"], "state": {"values": {"b": {"a": 1}}}}}), FORM,
     400, "state.values"),
    (_p({**SUBMIT, "view": {**SUBMIT["view"], "app_installed_team_id": 9}}), FORM, 400,
     "app_installed_team_id"),
    ('{"type": "url_verification", "challenge": "x"}', "application/json", 404, "Events API"),
    ('{"type": "event_callback"}', FORM, 404, "Events API"),
    ('{"type": 1}', "application/json", 400, "not a Slack event"),
    ("[]", "application/json", 400, "not a Slack event"),
    (COMMAND, "application/json", 400, "not valid JSON"),
    ("{", FORM, 400, "not valid JSON"),
    (urlencode({"payload": '{"type": "block_actions", "x": "\\ud83d"}'}), FORM, 400, "Unicode"),
])
def test_body_as_bolt_will_read_it(body: str, content_type: str | None, status: int | None,
                                   says: str) -> None:
    refusal = refuse_body(body, content_type)
    assert (refusal.status if refusal else None) == status, refusal
    if refusal:
        assert says in refusal.reason and refusal.answer() == {"error": refusal.reason}


def test_a_valid_surrogate_pair_is_fine() -> None:
    body = urlencode({"payload": json.dumps({**CLICK, "x": "\U0001f525"})})  # "\ud83d\udd25"
    assert "\\ud83d" in json.dumps({"x": "\U0001f525"})
    assert refuse_body(body, FORM) is None


class _Origin:
    team_id = "T1"

    def new_trigger_id(self) -> str:
        return "1.2.3"

    def response_url(self) -> str:
        return "http://127.0.0.1:9/response/1"

    @property
    def responses(self) -> list[dict[str, Any]]:
        return []

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        return {}


def test_bolt_reads_every_admitted_fuzz_body_without_raising() -> None:
    """What the guard lets through, Bolt can parse, build its context from, route and log."""
    corpus = malformed_requests(random.Random(14), 600, Origin(_Origin(), SECRET, "U1", "C1"))
    admitted = 0
    for request in corpus:
        hdrs = {k.lower(): v for k, v in request.headers.items()}
        if refuse_length(str(len(request.body))) is not None:
            continue
        text = verified_text(SignatureVerifier(SECRET), hdrs, request.body)
        if isinstance(text, Refusal) or refuse_body(text, bolt_content_type(
                [hdrs.get("content-type", "")])) is not None:
            continue
        admitted += 1
        bolt = AsyncBoltRequest(body=text, headers=hdrs)
        to_action(bolt.body)
        to_view(bolt.body)
        warning_unhandled_request(bolt)  # what Bolt logs for a request no listener takes
    assert 50 < admitted < len(corpus)  # the corpus has both kinds
