"""Which vendor failures are retried (pure classification)."""

from __future__ import annotations

import urllib.error
from email.message import Message

import httpx
import pytest
import requests
from jira.exceptions import JIRAError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from tasks.retry import is_transient


def slack_error(status: int, error: str) -> SlackApiError:
    response = SlackResponse(client=None, http_verb="POST",
                             api_url="https://slack.com/api/conversations.history",
                             req_args={}, data={"ok": False, "error": error}, headers={},
                             status_code=status)
    return SlackApiError(f"The request failed: {error}", response)


def http_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "https://events.pagerduty.com/v2/enqueue")
    response = httpx.Response(status, request=request)
    return httpx.HTTPStatusError(f"HTTP {status}", request=request, response=response)


def urllib_error(code: int) -> urllib.error.HTTPError:
    return urllib.error.HTTPError("https://slack.com/api/x", code, "err", Message(), None)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (slack_error(429, "ratelimited"), True),
        (slack_error(500, "internal_error"), True),
        (slack_error(503, "whatever"), True),
        (slack_error(200, "ratelimited"), True),
        (slack_error(200, "internal_error"), True),
        (slack_error(200, "fatal_error"), True),
        (slack_error(200, "service_unavailable"), True),
        (slack_error(200, "request_timeout"), True),
        (slack_error(200, "channel_not_found"), False),
        (slack_error(200, "name_taken"), False),
        (slack_error(200, "invalid_auth"), False),
        (slack_error(200, "not_in_channel"), False),
        (slack_error(400, "invalid_arguments"), False),
        (slack_error(404, "unknown_method"), False),
        (JIRAError("unavailable", status_code=503), True),
        (JIRAError("busy", status_code=429), True),
        (JIRAError("error", status_code=500), True),
        (JIRAError("no status", status_code=None), True),
        (JIRAError("not found", status_code=404), False),
        (JIRAError("forbidden", status_code=403), False),
        (JIRAError("bad request", status_code=400), False),
        (http_error(429), True),
        (http_error(500), True),
        (http_error(502), True),
        (http_error(400), False),
        (http_error(401), False),
        (http_error(404), False),
        (httpx.ConnectError("refused"), True),
        (httpx.ReadTimeout("slow"), True),
        (httpx.RemoteProtocolError("dropped"), True),
        (requests.ConnectionError("refused"), True),
        (requests.Timeout("slow"), True),
        (urllib_error(429), True),
        (urllib_error(503), True),
        (urllib_error(404), False),
        (urllib.error.URLError("dns"), True),
        (ConnectionResetError("reset"), True),
        (TimeoutError("slow"), True),
        (ValueError("bug"), False),
        (KeyError("bug"), False),
        (RuntimeError("bug"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_is_transient(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient
