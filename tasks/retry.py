"""Which failures are worth retrying: rate limits, server errors and broken connections only."""

from __future__ import annotations

import socket
import urllib.error
from typing import Any

import httpx
import requests
from jira.exceptions import JIRAError
from slack_sdk.errors import SlackApiError

# Slack reports some of its own outages as HTTP 200 with these codes.
_SLACK_TRANSIENT_CODES = {"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                          "request_timeout"}

RETRY_DELAYS = [1, 2, 4]


def _status_is_transient(status: int | None) -> bool:
    return status is not None and (status == 429 or status >= 500)


def is_transient(exc: BaseException) -> bool:
    """True for a fault that may pass (429, 5xx, connection trouble), False for a refusal."""
    if isinstance(exc, SlackApiError):
        return (_status_is_transient(exc.response.status_code)
                or exc.response.get("error") in _SLACK_TRANSIENT_CODES)
    if isinstance(exc, JIRAError):
        return exc.status_code is None or _status_is_transient(exc.status_code)
    if isinstance(exc, httpx.HTTPStatusError):
        return _status_is_transient(exc.response.status_code)
    if isinstance(exc, httpx.TransportError | requests.ConnectionError | requests.Timeout):
        return True
    if isinstance(exc, urllib.error.HTTPError):
        return _status_is_transient(exc.code)
    return isinstance(exc, urllib.error.URLError | socket.timeout | ConnectionError | TimeoutError)


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry only transient faults."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            state.result(raise_on_failure=True)
        except BaseException as raised:  # the state's own exception
            exc = raised
    return exc is not None and is_transient(exc)
