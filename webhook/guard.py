"""Refuse requests whose signature headers are malformed, before Bolt's verifier sees them.

Bolt's verifier raises (500) on a non-numeric timestamp or a non-ASCII signature; Slack's
contract for a request that fails verification is 401.
"""

from __future__ import annotations

from collections.abc import Mapping

INVALID = {"error": "invalid request"}  # what Bolt answers for a failed signature check


def signature_headers_malformed(headers: Mapping[str, str]) -> bool:
    """True when present signature headers cannot possibly verify (missing is Bolt's call)."""
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if timestamp is not None and not (timestamp.isascii() and timestamp.strip().isdigit()):
        return True
    return signature is not None and not signature.isascii()
