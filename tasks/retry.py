"""One retry layer per fault: which failures Prefect retries, and the options every task shares.

- Slack 429: slack-sdk's RateLimitErrorRetryHandler only (it sleeps Retry-After; see clients.py).
  Prefect never retries a Slack 429, so one throttled call stays one call plus its waits.
- Slack 5xx / connection errors, Jira and PagerDuty 429 / 5xx / connection errors: Prefect task
  retries only (the clients retry nothing themselves); a 429 waits what Retry-After asks.
- Falcon 429 (after X-RateLimit-RetryAfter) / 5xx: Prefect task retries only (falconpy retries
  nothing; tasks/falcon.py turns its answers into FalconError).
- Refusals (4xx other than 429, Slack error codes such as channel_not_found): never retried.
"""

from __future__ import annotations

import socket
import time
import urllib.error
from typing import Any

import httpx
import requests
from jira.exceptions import JIRAError
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run, task_run
from slack_sdk.errors import SlackApiError

from tasks.errors import FalconError

# Slack reports some of its own outages as HTTP 200 with these codes.
_SLACK_TRANSIENT_CODES = {"internal_error", "fatal_error", "service_unavailable",
                          "request_timeout"}

RETRY_DELAYS = [1, 2, 4]
# A Retry-After longer than this is not waited out inside a task: the run fails visibly instead.
MAX_RETRY_AFTER_SECONDS = 60


def _status_is_transient(status: int | None) -> bool:
    return status is not None and (status == 429 or status >= 500)


def is_transient(exc: BaseException) -> bool:
    """True for a fault Prefect should retry (see the module docstring), False otherwise."""
    if isinstance(exc, FalconError):
        return exc.transient  # a 429 or a 5xx (falconpy itself retries nothing)
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        if status == 429 or exc.response.get("error") == "ratelimited":
            return False  # the SDK's rate-limit handler already waited and retried
        return (status is not None and status >= 500) or (
            exc.response.get("error") in _SLACK_TRANSIENT_CODES)
    if isinstance(exc, JIRAError):
        return exc.status_code is None or _status_is_transient(exc.status_code)
    if isinstance(exc, httpx.HTTPStatusError):
        return _status_is_transient(exc.response.status_code)
    if isinstance(exc, httpx.TransportError | requests.ConnectionError | requests.Timeout):
        return True
    if isinstance(exc, urllib.error.HTTPError):
        return _status_is_transient(exc.code)
    return isinstance(exc, urllib.error.URLError | socket.timeout | ConnectionError | TimeoutError)


def is_repeat_attempt() -> bool:
    """True when this call may repeat one that already took effect: a task retry (a 5xx may
    hide a success) or a re-run of the same flow run (after a crash or a resume)."""
    return int(task_run.get_run_count() or 0) > 1 or int(flow_run.get_run_count() or 0) > 1


def retry_after_seconds(exc: BaseException) -> float:
    """What a 429 asked us to wait (0 when it did not say, or for anything else)."""
    headers: Any = None
    if isinstance(exc, FalconError):
        return min(exc.retry_after, MAX_RETRY_AFTER_SECONDS)
    if isinstance(exc, JIRAError) and exc.status_code == 429 and exc.response is not None:
        headers = exc.response.headers
    elif isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code == 429:
        headers = exc.response.headers
    if headers is None:
        return 0.0
    try:
        return min(float(headers.get("Retry-After") or 0), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return 0.0


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry only transient faults; honour a 429's Retry-After.

    Prefect's own delay is fixed, so the part of Retry-After beyond it is waited here.
    """
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            state.result(raise_on_failure=True)
        except BaseException as raised:  # the state's own exception
            exc = raised
    if exc is None or not is_transient(exc):
        return False
    attempt = max(int(getattr(task_run, "run_count", 1) or 1) - 1, 0)
    planned = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
    extra = retry_after_seconds(exc) - planned
    if extra > 0:
        time.sleep(extra)
    return True


# Every task talks to an outside system: retried as above, and never served from a cache
# (tasks receive live clients and post, upload and delete; a cached result would skip a side
# effect or hand back a stale cursor).
TASK_OPTIONS: dict[str, Any] = {
    "retries": len(RETRY_DELAYS),
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_condition_fn": retry_if_transient,
    "cache_policy": NO_CACHE,
}
