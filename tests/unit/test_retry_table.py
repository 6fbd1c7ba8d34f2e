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

from tasks.retry import MAX_RETRY_AFTER_SECONDS, is_transient, retry_after_seconds


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
        # Slack 429s belong to slack-sdk's RateLimitErrorRetryHandler alone (one retry layer).
        (slack_error(429, "ratelimited"), False),
        (slack_error(500, "internal_error"), True),
        (slack_error(503, "whatever"), True),
        (slack_error(200, "ratelimited"), False),
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


def jira_error(status: int, headers: dict[str, str]) -> JIRAError:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return JIRAError("busy", status_code=status, response=response)


def pd_error(status: int, headers: dict[str, str]) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "https://events.pagerduty.com/v2/enqueue")
    response = httpx.Response(status, request=request, headers=headers)
    return httpx.HTTPStatusError(f"HTTP {status}", request=request, response=response)


@pytest.mark.parametrize(
    ("exc", "seconds"),
    [
        (jira_error(429, {"Retry-After": "7"}), 7.0),
        (jira_error(429, {}), 0.0),
        (jira_error(503, {"Retry-After": "7"}), 0.0),
        (jira_error(429, {"Retry-After": "soon"}), 0.0),
        (jira_error(429, {"Retry-After": "3600"}), float(MAX_RETRY_AFTER_SECONDS)),
        (pd_error(429, {"Retry-After": "2"}), 2.0),
        (pd_error(500, {"Retry-After": "2"}), 0.0),
        (slack_error(429, "ratelimited"), 0.0),
        (ValueError("bug"), 0.0),
    ],
)
def test_retry_after_seconds(exc: BaseException, seconds: float) -> None:
    assert retry_after_seconds(exc) == seconds
