"""Issue 14: every kind of malformed request, through the real Bolt app in this process.

Each row: what is sent, the status it must get, what the answer must say, and how many warnings
it may log (one for a refusal; none for an unsigned request, which anyone can send). In every
row nothing is started, nothing but `auth.test` and response_url answers reach Slack, and the
answer comes in well under Slack's 3 s.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from sandbox.signing import block_actions_payload, payload_body, sign, view_submission_payload
from tasks import deployments
from tasks.messages import ARCHIVE_CANCEL_ACTION
from tests.conftest import SIGNING_SECRET
from tests.inprocess.support import InProcessWebhook
from webhook import replies
from webhook.guard import MAX_BODY_BYTES
from webhook.modal import create_modal

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass
class Ctx:
    webhook: InProcessWebhook
    user: str
    channel: str

    def command(self, text: str = "backup", **fields: str | None) -> str:
        return self.webhook.command_body(text, self.user, self.channel, **fields)

    def view(self, values: dict[str, Any] | None = None, **view: Any) -> dict[str, Any]:
        """A create-modal submission (nobody to invite unless `values` says so)."""
        shown = {**create_modal(self.channel), "id": f"V{uuid.uuid4().hex[:9].upper()}",
                 "team_id": self.webhook.sandbox.team_id}
        payload = view_submission_payload(view=shown, values=values or {}, user_id=self.user,
                                          user_name="tester", team_id=self.webhook.sandbox.team_id)
        payload["view"].update(view)
        return payload

    def click(self, value: str | None = None, **action: Any) -> dict[str, Any]:
        payload = block_actions_payload(
            action_id=ARCHIVE_CANCEL_ACTION, value=value or str(uuid.uuid4()), block_id="b",
            user_id=self.user, user_name="tester", channel_id=self.channel,
            message_ts="1700000000.000100", team_id=self.webhook.sandbox.team_id,
            response_url=self.webhook.response_url(), trigger_id="1.2.3")
        payload["actions"][0].update(action)
        return payload


Body = bytes | str | tuple[bytes | str, str]  # a form body, or (body, content type)


@dataclass(frozen=True)
class Case:
    build: Callable[[Ctx], Body]
    status: int
    says: str = ""  # in the answer, or in what was sent to the response_url
    warnings: int = 1


def _payload(payload: Any) -> str:
    return payload_body(payload) if isinstance(payload, dict) else \
        urlencode({"payload": json.dumps(payload)})


def _without(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


def _view_without(c: Ctx, key: str, values: dict[str, Any] | None = None) -> str:
    payload = c.view(values)
    payload["view"].pop(key)
    return _payload(payload)


def _click_without_value(c: Ctx) -> str:
    payload = c.click()
    payload["actions"][0].pop("value")
    return _payload(payload)


def _lone_surrogate(c: Ctx) -> str:
    raw = json.dumps(c.click()).replace('"value": "', '"value": "\\ud800')
    return urlencode({"payload": raw})


VALID_PEOPLE = {"people": {"people": {"type": "multi_users_select", "selected_users": ["U1"]}},
                "new_case": {"new_case": {"type": "checkboxes", "selected_options": [{}]}},
                "title": {"title": {"type": "plain_text_input", "value": "DB down"}}}

CASES: dict[str, Case] = {
    # --- parse errors: refused before Bolt, 400 with the reason ---------------------------
    "empty body": Case(lambda c: "", 400, "empty body"),
    "form garbage": Case(lambda c: "%%&&==;;", 400, "neither a slash command"),
    "utf-8 garbage": Case(lambda c: "\u202e\x00\ufeffzz", 400, "neither a slash command"),
    "command field missing": Case(lambda c: c.command(command=None), 400, "no `command`"),
    "event as a form string": Case(lambda c: c.command(event="x"), 400, "`event` must be"),
    "authorizations as a string": Case(lambda c: c.command(authorizations="abc"), 400,
                                       "`authorizations` must be"),
    "payload not JSON": Case(lambda c: "payload=%7Bnope", 400, "not valid JSON"),
    "payload a list": Case(lambda c: _payload([1, 2]), 400, "not a JSON object"),
    "payload a number": Case(lambda c: _payload(42), 400, "not a JSON object"),
    "payload null": Case(lambda c: _payload(None), 400, "not a JSON object"),
    "payload nested too deep": Case(lambda c: "payload=" + "[" * 5000 + "]" * 5000, 400,
                                    "not valid JSON"),
    "payload without type": Case(lambda c: _payload(_without(c.click(), "type")), 400,
                                 "no string `type`"),
    "payload type a number": Case(lambda c: _payload({**c.click(), "type": 3}), 400,
                                  "no string `type`"),
    "payload with a lone surrogate": Case(_lone_surrogate, 400, "not valid Unicode"),
    "payload with a command": Case(lambda c: _payload({**c.click(), "command": "/irbot"}), 400,
                                   "slash command"),
    "team a number": Case(lambda c: _payload({**c.click(), "team": 7}), 400, "`team` must be"),
    "user a list": Case(lambda c: _payload({**c.view(), "user": ["U1"]}), 400, "`user` must"),
    "channel id a number": Case(lambda c: _payload({**c.click(), "channel": {"id": 5}}), 400,
                                "`channel` must be"),
    "event null": Case(lambda c: _payload({**c.click(), "event": None}), 400, "`event` must"),
    "response_urls a string": Case(lambda c: _payload({**c.view(), "response_urls": "x"}), 400,
                                   "`response_urls` must be"),
    "response_url not a URL": Case(lambda c: _payload({**c.click(), "response_url": "\u202e"}),
                                   400, "`response_url` must be an http(s) URL"),
    "view a string": Case(lambda c: _payload({**c.view(), "view": "V1"}), 400, "`view` must"),
    "view without callback_id": Case(lambda c: _view_without(c, "callback_id"), 400,
                                     "callback_id"),
    "view without state": Case(lambda c: _view_without(c, "state"), 400, "view.state.values"),
    "view state a string": Case(lambda c: _payload(c.view(state="x")), 400, "`view.state`"),
    "view values a list": Case(lambda c: _payload(c.view(state={"values": []})), 400,
                               "view.state.values"),
    "view block a string": Case(lambda c: _payload(c.view(state={"values": {"people": "x"}})),
                                400, "view.state.values"),
    "view metadata a number": Case(lambda c: _payload(c.view(private_metadata=5)), 400,
                                   "`view.private_metadata` must be"),
    "actions missing": Case(lambda c: _payload(_without(c.click(), "actions")), 400,
                            "no actions"),
    "actions empty": Case(lambda c: _payload({**c.click(), "actions": []}), 400, "no actions"),
    "action not an object": Case(lambda c: _payload({**c.click(), "actions": [1]}), 400,
                                 "`actions` must be"),
    "action without action_id": Case(lambda c: _payload({**c.click(), "actions": [{}]}), 400,
                                     "action_id"),
    "action_id a number": Case(lambda c: _payload(c.click(action_id=5)), 400, "action_id"),
    "JSON body cut short": Case(lambda c: ('{"type": "event_callback"', JSON), 400,
                                "not valid JSON"),
    "JSON body a list": Case(lambda c: ("[1]", JSON), 400, "not a Slack event"),
    "form body that starts with {": Case(lambda c: ("{payload=1", FORM), 400, "not valid JSON"),
    "form body sent as JSON": Case(lambda c: (c.command(), JSON), 400, "not valid JSON"),
    # --- kinds nobody listens for: 404, as Bolt answers them -------------------------------
    "Events API url_verification": Case(
        lambda c: (json.dumps({"type": "url_verification", "challenge": "x"}), JSON), 404,
        "no Events API events"),
    "Events API event": Case(lambda c: (json.dumps(
        {"type": "event_callback", "event": {"type": "message"}}), JSON), 404, "no Events API"),
    "view_closed payload": Case(lambda c: _payload({**c.view(), "type": "view_closed"}), 404,
                                "`view_closed` payloads"),
    "unknown payload type": Case(lambda c: _payload({**c.click(), "type": "zz"}), 404,
                                 "this payload type"),
    "the word payload in a command": Case(lambda c: c.command("page db payload down"), 404,
                                          "no `payload` field"),
    "another app's command": Case(lambda c: c.command(command="/other"), 404,
                                  "unhandled request"),
    "another modal": Case(lambda c: _payload(c.view(callback_id="other_modal")), 404,
                          "unhandled request"),
    "another button": Case(lambda c: _payload(c.click(action_id="other_button")), 404,
                           "unhandled request"),
    # --- readable, but without what the listener needs: answered, nothing started ---------
    "command without channel_id": Case(lambda c: c.command(channel_id=None), 200,
                                       "which channel"),
    "command without user_id": Case(lambda c: c.command(user_id=None), 200, "who you are"),
    "command with a channel that is no id": Case(lambda c: c.command(channel_id="../C1"), 200,
                                                  "which channel"),
    "page without channel_id": Case(lambda c: c.command("page engineering db down",
                                                        channel_id=None), 200, "which channel"),
    "create without trigger_id": Case(lambda c: c.command("create", trigger_id=None), 200,
                                      "trigger"),
    "command without response_url": Case(lambda c: c.command(response_url=None), 200,
                                         "where to answer"),
    "40,000 characters of text": Case(lambda c: c.command("page engineering " + "x" * 40_000),
                                      200, "too long", warnings=0),
    "odd unicode text": Case(lambda c: c.command("\u202e\u200b\x00 e\u0301 \U0001f525"), 200,
                             "I don't know", warnings=0),
    "form without user": Case(lambda c: _payload(_without(c.view(VALID_PEOPLE), "user")), 200,
                              replies.FORM_UNREADABLE[:30]),
    "form without view id": Case(lambda c: _view_without(c, "id", VALID_PEOPLE), 200,
                                 replies.FORM_UNREADABLE[:30]),
    "form with odd leaves": Case(lambda c: _payload(c.view({
        "people": {"people": {"selected_users": "U1"}}, "title": {"title": {"value": 5}},
        "severity": {"severity": {"selected_option": "SEV-1"}},
        "new_case": {"new_case": {"selected_options": {}}}})), 200, "response_action",
        warnings=0),
    "button naming no run": Case(lambda c: _payload(c.click("not-a-run")), 200,
                                 replies.BUTTON_UNREADABLE[:30]),
    "button without value": Case(_click_without_value, 200, replies.BUTTON_UNREADABLE[:30]),
    "button without user": Case(lambda c: _payload(_without(c.click(), "user")), 200,
                                replies.BUTTON_UNREADABLE[:30]),
    "ssl_check probe": Case(lambda c: "ssl_check=1&token=x", 200, warnings=0),
    # --- not verifiable: 401 exactly as Bolt answers, and no warning ---------------------
    "unsigned garbage": Case(lambda c: b"\x00\xff garbage", 401, "invalid request", warnings=0),
    "signed bytes that are not UTF-8": Case(lambda c: b"\xff\xfe" + bytes(range(256)), 401,
                                            "invalid request", warnings=0),
}
UNSIGNED = {"unsigned garbage"}
SLACK_READS = {"auth.test", "response_url"}  # all Slack may see of a malformed request


@pytest.fixture
async def ctx(webhook: InProcessWebhook, responder: tuple[str, str]) -> AsyncIterator[Ctx]:
    yield Ctx(webhook, *responder)


def _secrets(c: Ctx) -> list[str]:
    return [SIGNING_SECRET, c.webhook.sandbox.bot_token, "sandbox-verification-token",
            *c.webhook.response_urls]


def _webhook_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(("irbot", "slack_bolt"))]


@pytest.mark.parametrize("name", CASES)
async def test_malformed_request_gets_its_status_and_starts_nothing(
        ctx: Ctx, caplog: pytest.LogCaptureFixture, name: str) -> None:
    case = CASES[name]
    built = case.build(ctx)
    body, content_type = built if isinstance(built, tuple) else (built, FORM)
    raw = body if isinstance(body, bytes) else body.encode()
    headers = {"Content-Type": content_type} if name in UNSIGNED else \
        {**sign(SIGNING_SECRET, raw), "Content-Type": content_type}
    slack_before = len(ctx.webhook.sandbox.requests())
    caplog.set_level(logging.INFO)

    started = time.perf_counter()
    resp = await ctx.webhook.post(raw, headers)
    elapsed = time.perf_counter() - started

    assert resp.status_code == case.status, (resp.status_code, resp.text)
    heard = resp.text + json.dumps(ctx.webhook.answers())
    assert case.says in heard, heard[:500]
    if case.status == 401:
        assert resp.json() == {"error": "invalid request"}
    assert elapsed < 1.0
    assert not ctx.webhook.handoff.anything_started
    seen = {r.name for r in ctx.webhook.sandbox.requests()[slack_before:]}
    assert seen <= SLACK_READS, seen
    records = _webhook_records(caplog)
    assert len([r for r in records if r.levelno >= logging.WARNING]) == case.warnings, \
        [r.getMessage() for r in records]
    for record in records:
        assert not any(s in record.getMessage() for s in _secrets(ctx)), record.getMessage()


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_body_over_1_mib_is_refused_before_it_is_read(ctx: Ctx, declared: bool) -> None:
    raw = ctx.command("page engineering " + "x" * MAX_BODY_BYTES).encode()
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(raw), 64 * 1024):
            sent.append(i)
            yield raw[i:i + 64 * 1024]

    headers = sign(SIGNING_SECRET, raw)
    resp = await ctx.webhook.post(raw, headers, **({} if declared else {"content": chunks()}))
    assert resp.status_code == 413, resp.text
    assert resp.json() == {"error": "body over 1 MiB"}
    if not declared:
        # The read stopped at the limit: the rest of the stream was never asked for.
        assert len(sent) * 64 * 1024 <= MAX_BODY_BYTES + 2 * 64 * 1024
    assert not ctx.webhook.handoff.anything_started


# --- the same webhook does start work for well-formed requests: the rows above can fail -----


async def test_a_well_formed_page_starts_one_run(ctx: Ctx) -> None:
    resp = await ctx.webhook.post(ctx.command('page engineering "db down"'))
    assert resp.status_code == 200
    [(deployment, params, _)] = ctx.webhook.handoff.started
    assert deployment == deployments.PAGE
    assert params["team"] == "engineering" and params["channel_id"] == ctx.channel


async def test_a_well_formed_form_starts_one_create(ctx: Ctx) -> None:
    payload = ctx.view(VALID_PEOPLE)
    resp = await ctx.webhook.post(payload_body(payload))
    assert resp.status_code == 200 and resp.text == ""
    [(deployment, params, key)] = ctx.webhook.handoff.started
    assert deployment == deployments.CREATE and key == f"create-{payload['view']['id']}"
    assert params["requested_by"] == ctx.user and params["invitees"] == ["U1"]


async def test_a_well_formed_click_resumes_its_run(ctx: Ctx) -> None:
    run_id = str(uuid.uuid4())
    resp = await ctx.webhook.post(payload_body(ctx.click(run_id)))
    assert resp.status_code == 200
    assert ctx.webhook.handoff.resumed == [(run_id, "cancel", ctx.user)]
