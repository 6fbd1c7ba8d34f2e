"""The gate in front of Bolt: what Slack would never send gets a 4xx and a reason, never a 500.

Bolt parses a body before it checks the signature, and assumes Slack's shapes while it does, so
bytes that are not UTF-8, a `payload` that is a list or a `team` that is a number are 500s, even
unsigned. The webhook therefore checks, in this order (pure functions, one per step):
1. the signature headers are there and well formed (401, exactly as Bolt answers);
2. the size: over MAX_BODY_BYTES is 413, before the body is read (the signature cannot be
   checked without reading the body, so an unsigned giant gets 413 too);
3. the signature, with slack-sdk's verifier (401);
4. the body, parsed exactly as Bolt will parse it: 400 when it cannot be read, 404 for kinds
   no listener handles (what Bolt answers for those), otherwise Bolt gets it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.signature import SignatureVerifier

from webhook.shapes import HANDLED_PAYLOAD_TYPES, KNOWN_PAYLOAD_TYPES, shape_problem

INVALID = {"error": "invalid request"}  # what Bolt answers for a failed signature check
# Slack's own payloads stay far below this (a view is at most 250 kB).
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Refusal:
    """An answer for a request Bolt must not see. The reason never quotes the body: it is
    both the answer and the log line."""

    status: int
    reason: str

    def answer(self) -> dict[str, str]:
        return INVALID if self.status == 401 else {"error": self.reason}


TOO_LARGE = Refusal(413, "body over 1 MiB")


def signature_headers_malformed(headers: Mapping[str, str]) -> bool:
    """True when present signature headers cannot possibly verify.

    slack-sdk's verifier raises (not False) on a non-numeric timestamp or a non-ASCII signature.
    """
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if timestamp is not None and not (timestamp.isascii() and timestamp.strip().isdigit()):
        return True
    return signature is not None and not signature.isascii()


def refuse_headers(headers: Mapping[str, str]) -> Refusal | None:
    """Step 1: the signature headers, before anything is read."""
    if "x-slack-request-timestamp" not in headers or "x-slack-signature" not in headers:
        return Refusal(401, "no signature headers")
    if signature_headers_malformed(headers):
        return Refusal(401, "malformed signature headers")
    return None


def refuse_length(content_length: str | None) -> Refusal | None:
    """Step 2: a declared size over the limit (a chunked body is capped while it is read)."""
    if content_length is None:
        return None
    if not (content_length.isascii() and content_length.strip().isdigit()):
        return Refusal(400, "malformed Content-Length")
    return TOO_LARGE if int(content_length) > MAX_BODY_BYTES else None


def verified_text(verifier: SignatureVerifier, headers: Mapping[str, str],
                  body: bytes) -> str | Refusal:
    """Step 3: the body as text if its signature verifies (call refuse_headers first)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # Slack signs text; slack-sdk's verifier (like Bolt) can only verify text.
        return Refusal(401, "body is not UTF-8, so its signature cannot be verified")
    if not verifier.is_valid(text, headers.get("x-slack-request-timestamp"),
                             headers.get("x-slack-signature")):
        return Refusal(401, "signature does not verify (or is over 5 minutes old)")
    return text


def bolt_content_type(content_types: list[str]) -> str | None:
    """The media type Bolt will see: it keeps the last Content-Type header, up to the `;`."""
    return content_types[-1].split(";")[0] if content_types and content_types[-1] else None


def refuse_body(text: str, content_type: str | None) -> Refusal | None:
    """Step 4: parse as Bolt's `parse_body` does, and refuse what it would trip over."""
    if not text:
        return Refusal(400, "empty body")
    # Bolt's own test for JSON, kept exactly, so that we judge the body Bolt will read.
    if content_type == "application/json" or text.startswith("{"):
        return _events_api(text)
    fields = dict(parse_qsl(text, keep_blank_values=True))
    # Bolt reads any form body that merely contains the word as interactivity.
    if "payload" in text:
        if "payload" not in fields:
            return Refusal(404, "no `payload` field (Bolt reads a form body that contains "
                           "the word as interactivity)")
        return _interactivity(fields["payload"])
    if fields.get("ssl_check") == "1":
        return None  # Slack's certificate probe: Bolt answers it
    if "command" not in fields:
        return Refusal(400, "form body is neither a slash command (no `command`) nor "
                       "interactivity (no `payload`)")
    problem = shape_problem(fields)
    return Refusal(400, problem) if problem else None


def _events_api(text: str) -> Refusal:
    body = _json(text)
    if body is _UNREADABLE:
        return Refusal(400, "JSON body is not valid JSON")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return Refusal(400, "JSON body is not a Slack event (an object with a string `type`)")
    return Refusal(404, "irbot subscribes to no Events API events")


def _interactivity(raw: str) -> Refusal | None:
    payload = _json(raw)
    if payload is _UNREADABLE:
        return Refusal(400, "`payload` is not valid JSON")
    if not isinstance(payload, dict):
        return Refusal(400, "`payload` is not a JSON object")
    kind = payload.get("type")
    if not isinstance(kind, str):
        return Refusal(400, "`payload` has no string `type`")
    if kind not in HANDLED_PAYLOAD_TYPES:
        named = f"`{kind}` payloads" if kind in KNOWN_PAYLOAD_TYPES else "this payload type"
        return Refusal(404, f"irbot has no listener for {named}")
    if "command" in payload:
        return Refusal(400, "`payload` carries a slash command's `command`")
    if "\\u" in raw and _has_lone_surrogate(payload):
        return Refusal(400, "`payload` holds text that is not valid Unicode")
    problem = shape_problem(payload)
    return Refusal(400, problem) if problem else None


_UNREADABLE = object()


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        return _UNREADABLE


def _has_lone_surrogate(value: Any) -> bool:
    """JSON may escape half a surrogate pair ("\\ud800"); no UTF-8 encoder accepts the result."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
