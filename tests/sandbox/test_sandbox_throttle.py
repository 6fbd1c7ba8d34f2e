"""Slack-tier throttling: budgets per method per window, 429 + integer Retry-After beyond."""

from __future__ import annotations

import time

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from sandbox import Sandbox
from sandbox.throttle import Throttles


@pytest.mark.parametrize(("calls", "expected"), [
    # (clock reading, method) -> None when allowed, else Retry-After
    ([(0.0, "m"), (0.5, "m"), (0.9, "m")], [None, None, 10]),  # 9.1 s left rounds up
    ([(0.0, "m"), (0.0, "m"), (9.5, "m")], [None, None, 1]),  # never below 1
    ([(0.0, "m"), (0.0, "m"), (10.0, "m"), (10.0, "m")], [None, None, None, None]),  # new window
    ([(0.0, "m"), (0.0, "m"), (1.0, "other")], [None, None, None]),  # unthrottled method
    ([(0.0, "m"), (0.1, "m"), (0.2, "m"), (3.0, "m")], [None, None, 10, 7]),  # 429s not counted
])
def test_fixed_window(calls: list[tuple[float, str]], expected: list[int | None]) -> None:
    throttles = Throttles()
    throttles.set("m", limit=2, window_seconds=10)
    assert [throttles.take(method, now) for now, method in calls] == expected


@pytest.mark.parametrize(("method", "limit", "window"), [("", 1, 1.0), ("*", 1, 1.0),
                                                        ("m", 0, 1.0), ("m", 1, 0.0)])
def test_bad_throttles_are_refused(sb: Sandbox, method: str, limit: int, window: float) -> None:
    with pytest.raises(ValueError):
        sb.throttle(method, limit, window)


def test_calls_beyond_the_budget_get_slacks_429(slack: WebClient, sb: Sandbox) -> None:
    cid = sb.add_channel("inc")
    sb.throttle("conversations.history", limit=2, window_seconds=30)
    for _ in range(2):
        assert slack.conversations_history(channel=cid)["ok"] is True
    with pytest.raises(SlackApiError) as info:
        slack.conversations_history(channel=cid)
    response = info.value.response
    assert response.status_code == 429 and response["error"] == "ratelimited"
    assert response.headers["retry-after"] in ("29", "30")  # whole seconds, rounded up
    assert slack.conversations_info(channel=cid)["ok"] is True  # other methods unthrottled
    assert [r.status for r in sb.requests("slack", "conversations.history")] == [200, 200, 429]


def test_retry_handler_completes_close_to_the_floor(sb: Sandbox) -> None:
    cid = sb.add_channel("inc")
    sb.throttle("conversations.history", limit=2, window_seconds=1)
    # max_retry_count defaults to 1 in slack-sdk: a throttled loop needs more.
    client = WebClient(token=sb.bot_token, base_url=sb.slack_api_url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=10)])
    started = time.monotonic()
    for _ in range(5):
        assert client.conversations_history(channel=cid)["ok"] is True
    elapsed = time.monotonic() - started
    # Floor: (ceil(5 / 2) - 1) windows of 1 s; each wait is Retry-After (1) + < 1 s jitter.
    assert 2.0 <= elapsed < 6.0
    statuses = [r.status for r in sb.requests("slack", "conversations.history")]
    assert statuses.count(200) == 5 and statuses.count(429) == 2


def test_throttle_and_clear(sb: Sandbox) -> None:
    sb.throttle("auth.test", limit=1, window_seconds=60)
    url = sb.slack_api_url + "auth.test"
    assert httpx.post(url).status_code == 200
    refused = httpx.post(url)
    assert refused.status_code == 429 and refused.json() == {"ok": False,
                                                             "error": "ratelimited"}
    assert 59 <= int(refused.headers["retry-after"]) <= 60
    sb.clear_faults()  # throttles too
    assert httpx.post(url).status_code == 200
    with pytest.raises(ValueError, match="limit"):
        sb.throttle("auth.test", limit=0)
