"""Correctly signed requests that Slack would never send: the webhook's fuzz corpus (issue 14).

`malformed_requests(rng, count, origin)` mixes the kinds a tester tried: fields missing, wrong
types, a `payload` that is not a JSON object, garbage bytes, view submissions with no or odd
state, block actions with no usable action, JSON bodies of the Events API shape, very long or
odd-unicode text, and bodies over 1 MiB. None may start anything, even where the webhook reads
it as valid: commands never name a team that can be paged, nor `create`; forms never choose
anyone to invite; buttons never name a run that exists.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sandbox.driver import SandboxLike
from sandbox.signing import (
    block_actions_payload,
    payload_body,
    sign,
    slash_command_body,
    view_submission_payload,
)
from tasks.messages import ARCHIVE_CANCEL_ACTION, ARCHIVE_NOW_ACTION
from webhook.modal import create_modal

FORM = "application/x-www-form-urlencoded"
OVERSIZE_BYTES = 1024 * 1024 + 4096  # just over the webhook's 1 MiB limit
# Bidi overrides, zero-width joiners, a BOM, NUL, stacked accents, an emoji family, astral
# letters, CJK, Hebrew, a line separator and a private-use code point.
ODD_TEXT = ("\u202eesrever\u202c \u200b\u200d\ufeff \x00 e\u0301\u0301\u0301 "
            "\U0001f525 \U0001f469\u200d\U0001f469\u200d\U0001f467 \U0001d518\U0001d52b "
            "\u4e2d\u6587 \u05e2\u05d1\u05e8\u05d9\u05ea \u2028 \U0010fffd")
JUNK_VALUES: list[Any] = [None, True, 0, -1, 3.5, "", "x", [], [1, "a"], {}, {"id": 7},
                          [[[]]], "\u202e" * 3]
SAFE_TEXTS = ("help", "status", "backup", "archive", "page", "page nosuchteam down", "frobnicate",
              "   ", "")


@dataclass(frozen=True)
class Malformed:
    """One request: what it is meant to be, its bytes and its (signed) headers."""

    kind: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Origin:
    """Who and where the requests pretend to come from."""

    sandbox: SandboxLike
    secret: str
    user_id: str
    channel_id: str


Built = tuple[bytes | str, str | None]  # body, content type


def _command_fields(rng: random.Random, o: Origin, text: str | None = None) -> dict[str, str]:
    body = slash_command_body(
        text=rng.choice(SAFE_TEXTS) if text is None else text, user_id=o.user_id,
        user_name="fuzz", channel_id=o.channel_id, channel_name="fuzz", team_id=o.sandbox.team_id,
        response_url=o.sandbox.response_url(), trigger_id=o.sandbox.new_trigger_id())
    return dict(parse_qsl(body, keep_blank_values=True))


def _view_payload(rng: random.Random, o: Origin) -> dict[str, Any]:
    view = {**create_modal(o.channel_id), "id": f"V{uuid.uuid4().hex[:10].upper()}",
            "team_id": o.sandbox.team_id, "hash": "1.abc"}
    # Nobody to invite: the form can never be valid, so it can never start a create.
    values = {"people": {"people": {"type": "multi_users_select", "selected_users": []}},
              "new_case": {"new_case": {"type": "checkboxes", "selected_options": []}}}
    return view_submission_payload(view=view, values=values, user_id=o.user_id,
                                   user_name="fuzz", team_id=o.sandbox.team_id)


def _action_payload(rng: random.Random, o: Origin) -> dict[str, Any]:
    return block_actions_payload(
        action_id=rng.choice((ARCHIVE_CANCEL_ACTION, ARCHIVE_NOW_ACTION)),
        value=str(uuid.uuid4()), block_id="archive", user_id=o.user_id, user_name="fuzz",
        channel_id=o.channel_id, message_ts="1700000000.000100", team_id=o.sandbox.team_id,
        response_url=o.sandbox.response_url(), trigger_id=o.sandbox.new_trigger_id())


def command_fields_missing(rng: random.Random, o: Origin) -> Built:
    fields = _command_fields(rng, o)
    for name in rng.sample(sorted(fields), rng.randint(1, 5)):
        del fields[name]
    if "command" in fields and rng.random() < 0.1:
        fields["command"] = "/someone-elses-command"
    for name in ("user_id", "channel_id", "response_url", "trigger_id"):
        if name in fields and rng.random() < 0.1:
            fields[name] = rng.choice(["u1", "C 1", "../C1", "\u202eC1", "ftp://x", "http://",
                                       "\u00e9" * 3, "x" * 300])
    return urlencode(fields), FORM


def command_odd_text(rng: random.Random, o: Origin) -> Built:
    text = rng.choice([
        "page nosuchteam " + "x" * 40_000, "backup " + ODD_TEXT * 50, ODD_TEXT,
        "page nosuchteam \"unbalanced " + "é" * 5000, "payload " + ODD_TEXT,
        "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randint(1, 3000)))])
    body = urlencode(_command_fields(rng, o, text))
    if rng.random() < 0.3:
        body += "&text=%ff%fe%zz%"  # percent escapes that are not UTF-8, and a broken one
    return body, FORM


def command_object_fields(rng: random.Random, o: Origin) -> Built:
    """Fields Bolt reads as objects or lists, sent as a form's strings."""
    fields = _command_fields(rng, o)
    for name in rng.sample(["event", "view", "actions", "authorizations", "response_urls",
                            "message", "state", "container"], rng.randint(1, 3)):
        fields[name] = rng.choice(["", "x", "[1]", "{}"])
    return urlencode(fields), FORM


def form_garbage(rng: random.Random, o: Origin) -> Built:
    alphabet = "abc=&%+;/?#[]{}\"' \t\r\n\\0123456789é"
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 400)))
    return text.lstrip("{"), rng.choice([FORM, None, "text/plain"])


def bytes_not_utf8(rng: random.Random, o: Origin) -> Built:
    return b"\xff\xfe" + rng.randbytes(rng.randint(0, 600)), rng.choice([FORM, None])


def payload_not_object(rng: random.Random, o: Origin) -> Built:
    raw = rng.choice(["[]", "[1,2]", "42", '"x"', "null", "true", "{", "{'type': 1}", "",
                      "[" * 3000 + "]" * 3000, '{"type": "block_actions"', "1" * 5000,
                      "NaN"])
    return urlencode({"payload": raw}), FORM


def payload_wrong_types(rng: random.Random, o: Origin) -> Built:
    payload = rng.choice((_view_payload, _action_payload))(rng, o)
    for name in rng.sample(["type", "user", "team", "channel", "enterprise", "view", "actions",
                            "container", "response_url", "trigger_id", "authorizations",
                            "response_urls", "event", "message", "state", "command"],
                           rng.randint(1, 3)):
        payload[name] = rng.choice(JUNK_VALUES)
    return payload_body(payload), FORM


def view_odd_state(rng: random.Random, o: Origin) -> Built:
    payload = _view_payload(rng, o)
    view = payload["view"]
    mutation = rng.randrange(8)
    if mutation == 0:
        view.pop("state")
    elif mutation == 1:
        view["state"] = rng.choice(JUNK_VALUES)
    elif mutation == 2:
        view["state"] = {"values": rng.choice(JUNK_VALUES)}
    elif mutation == 3:
        view["state"]["values"] = {"people": rng.choice(JUNK_VALUES)}
    elif mutation == 4:  # odd leaves, still with nobody (readable) to invite
        view["state"]["values"] = {
            "people": {"people": {"selected_users": rng.choice(["U1", 5, None, [None, 3]])}},
            "title": {"title": {"value": rng.choice(JUNK_VALUES)}},
            "severity": {"severity": {"selected_option": rng.choice(JUNK_VALUES)}},
            "new_case": {"new_case": {"selected_options": rng.choice(JUNK_VALUES)}}}
    elif mutation == 5:
        for name in rng.sample(["id", "callback_id", "type", "private_metadata"],
                               rng.randint(1, 2)):
            view.pop(name, None)
    elif mutation == 6:
        view["private_metadata"] = rng.choice(['{"channel_id": 5}', "[", "x", 7, None])
    else:
        payload.pop("user")
    return payload_body(payload), FORM


def action_unusable(rng: random.Random, o: Origin) -> Built:
    payload = _action_payload(rng, o)
    action = payload["actions"][0]
    mutation = rng.randrange(7)
    if mutation == 0:
        payload.pop("actions")
    elif mutation == 1:
        payload["actions"] = rng.choice([[], [None], [1], [{}], "x"])
    elif mutation == 2:
        action["action_id"] = rng.choice(JUNK_VALUES)
    elif mutation == 3:
        action["value"] = rng.choice(["", "not-a-run", "1" * 40, ODD_TEXT, 5, None])
    elif mutation == 4:
        action.pop("value")
    elif mutation == 5:
        payload.pop(rng.choice(["user", "response_url"]))
    else:
        action["action_id"] = "someone_elses_button"
    return payload_body(payload), FORM


def events_api_json(rng: random.Random, o: Origin) -> Built:
    body = rng.choice([
        {"type": "url_verification", "challenge": "c" * 20, "token": "t"},
        {"type": "event_callback", "team_id": o.sandbox.team_id,
         "event": rng.choice([{"type": "message", "text": "hi"}, {}, None, "x", []])},
        {"type": "app_rate_limited", "minute_rate_limited": 1},
        {"no": "type"}, {"type": 5, "event": {"bot_id": []}}])
    text = json.dumps(body)
    if rng.random() < 0.2:
        text = text[: rng.randint(1, len(text) - 1)]  # cut short
    return text, rng.choice(["application/json", "application/json; charset=utf-8", FORM])


def other_payload_types(rng: random.Random, o: Origin) -> Built:
    payload = _action_payload(rng, o)
    payload["type"] = rng.choice(["view_closed", "shortcut", "message_action", "block_suggestion",
                                  "interactive_message", "dialog_submission", "no_such_type",
                                  "event_callback", "url_verification"])
    return payload_body(payload), FORM


def payload_odd_unicode(rng: random.Random, o: Origin) -> Built:
    payload = _action_payload(rng, o)
    raw = json.dumps(payload).replace('"value": "', '"value": "\\ud800' if rng.random() < 0.5
                                      else '"value": "' + ODD_TEXT.replace("\x00", ""))
    return urlencode({"payload": raw}), FORM


def oversize(rng: random.Random, o: Origin) -> Built:
    return urlencode(_command_fields(rng, o, "page nosuchteam " + "x" * OVERSIZE_BYTES)), FORM


KINDS: dict[str, tuple[int, Callable[[random.Random, Origin], Built]]] = {
    "command: fields missing": (10, command_fields_missing),
    "command: long or odd text": (8, command_odd_text),
    "command: object fields as strings": (5, command_object_fields),
    "form: garbage": (6, form_garbage),
    "bytes: not UTF-8": (4, bytes_not_utf8),
    "payload: not a JSON object": (8, payload_not_object),
    "payload: wrong types": (12, payload_wrong_types),
    "view_submission: no or odd state": (12, view_odd_state),
    "block_actions: no usable action": (12, action_unusable),
    "JSON: Events API shape": (8, events_api_json),
    "payload: types irbot does not handle": (5, other_payload_types),
    "payload: odd unicode": (4, payload_odd_unicode),
    "body over 1 MiB": (1, oversize),
}


def malformed_requests(rng: random.Random, count: int, origin: Origin) -> list[Malformed]:
    """`count` signed malformed requests; the same seed gives the same kinds and shapes."""
    names = list(KINDS)
    weights = [KINDS[n][0] for n in names]
    out = []
    for kind in rng.choices(names, weights, k=count):
        body, content_type = KINDS[kind][1](rng, origin)
        raw = body if isinstance(body, bytes) else body.encode()
        headers = sign(origin.secret, raw)
        if content_type is None:
            headers.pop("Content-Type")
        else:
            headers["Content-Type"] = content_type
        out.append(Malformed(kind, raw, headers))
    return out
