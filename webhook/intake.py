"""Reads a request for Bolt, or refuses it with the guard's checks, in the guard's order."""

from __future__ import annotations

import logging

from slack_sdk.signature import SignatureVerifier
from starlette.requests import ClientDisconnect, Request

from webhook.guard import (
    MAX_BODY_BYTES,
    TOO_LARGE,
    Refusal,
    bolt_content_type,
    refuse_body,
    refuse_headers,
    refuse_length,
    verified_text,
)

log = logging.getLogger("irbot.webhook")


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past `limit` (a chunked body declares no size)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def admit(request: Request, verifier: SignatureVerifier) -> bytes | Refusal:
    """The raw body, for Bolt; or why not (logged once, without anything from the body)."""
    refusal = await _screen(request, verifier)
    if isinstance(refusal, bytes):
        return refusal  # admitted: the body, as read
    if refusal.status == 401:
        # Anyone can send these, so they must not flood an operator's warnings (Bolt: info).
        log.info("Refused a Slack request: %d, %s", refusal.status, refusal.reason)
    else:
        log.warning("Refused a signed Slack request: %d, %s", refusal.status, refusal.reason)
    return refusal


async def _screen(request: Request, verifier: SignatureVerifier) -> bytes | Refusal:
    headers = request.headers
    refusal = refuse_headers(headers) or refuse_length(headers.get("content-length"))
    if refusal is not None:
        return refusal
    try:
        raw = await read_capped(request, MAX_BODY_BYTES)
    except ClientDisconnect:
        return Refusal(400, "the client went away before the body was complete")
    if raw is None:
        return TOO_LARGE
    text = verified_text(verifier, headers, raw)
    if isinstance(text, Refusal):
        return text
    return refuse_body(text, bolt_content_type(headers.getlist("content-type"))) or raw
