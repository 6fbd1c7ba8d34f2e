"""Every vendor client is built here, once, from Settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from jira import JIRA
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tasks.settings import Settings, get_settings

if TYPE_CHECKING:
    from falconpy import Hosts
    from slack_sdk.web.async_client import AsyncWebClient

# Flows: the SDK owns Slack 429s (it sleeps Retry-After) and nothing else; 5xx and connection
# errors are Prefect's task retries alone (tasks/retry.py), so no call is retried by two layers.
# Ten waits cover a page of history under Tier 3 throttling with room to spare.
SLACK_RATE_LIMIT_RETRIES = 10
# The webhook has no Prefect layer above it: the SDK is its only retry layer.
_SLACK_SERVER_RETRIES = 2
_HTTP_TIMEOUT_SECONDS = 30


def slack_client(settings: Settings | None = None,
                 timeout: int = _HTTP_TIMEOUT_SECONDS) -> WebClient:
    """Sync Slack Web API client for flows (and `irbot check`, with a shorter timeout)."""
    s = settings or get_settings()
    return WebClient(
        token=s.SLACK_BOT_TOKEN.get_secret_value(),
        base_url=s.SLACK_API_URL,
        timeout=timeout,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=SLACK_RATE_LIMIT_RETRIES)],
    )


def async_slack_client(settings: Settings | None = None) -> AsyncWebClient:
    """Async Slack Web API client for the webhook (Bolt)."""
    # Imported here: aiohttp would cost every flow process ~0.1 s of start-up for nothing.
    from slack_sdk.http_retry.builtin_async_handlers import (
        AsyncConnectionErrorRetryHandler,
        AsyncRateLimitErrorRetryHandler,
        AsyncServerErrorRetryHandler,
    )
    from slack_sdk.web.async_client import AsyncWebClient

    s = settings or get_settings()
    return AsyncWebClient(
        token=s.SLACK_BOT_TOKEN.get_secret_value(),
        base_url=s.SLACK_API_URL,
        timeout=_HTTP_TIMEOUT_SECONDS,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=SLACK_RATE_LIMIT_RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=_SLACK_SERVER_RETRIES),
            AsyncConnectionErrorRetryHandler(max_retry_count=_SLACK_SERVER_RETRIES),
        ],
    )


def slack_files_client(settings: Settings | None = None) -> httpx.Client:
    """HTTP client for Slack file downloads (`url_private*` needs the bot token)."""
    s = settings or get_settings()
    return httpx.Client(timeout=_HTTP_TIMEOUT_SECONDS, headers={
        "Authorization": f"Bearer {s.SLACK_BOT_TOKEN.get_secret_value()}"})


def jira_client(settings: Settings | None = None,
                timeout: float = _HTTP_TIMEOUT_SECONDS) -> JIRA:
    """Jira REST client; built once per flow run (each construction costs a round trip)."""
    s = settings or get_settings()
    client = JIRA(
        server=s.JIRA_URL,
        basic_auth=(s.JIRA_USER, s.JIRA_API_TOKEN.get_secret_value()),
        get_server_info=False,
        # The library sleeps up to 60 s per retry; Prefect's task retries are shorter and visible.
        max_retries=0,
        timeout=timeout,
    )
    # irbot speaks to Jira Cloud. Skipping serverInfo also leaves the deployment unknown, and
    # then the library answers its Cloud-only calls (the enhanced search a repeated create uses
    # to find the case it already made) with a logged warning and None, never a request.
    client.deploymentType = "Cloud"
    return client


def pagerduty_client() -> httpx.Client:
    """HTTP client for the PagerDuty Events API v2."""
    return httpx.Client(timeout=_HTTP_TIMEOUT_SECONDS)


def falcon_client(settings: Settings | None = None,
                  timeout: float = _HTTP_TIMEOUT_SECONDS) -> Hosts:
    """CrowdStrike Falcon's Hosts API (OAuth2 client credentials); callers check
    `settings.falcon_configured` first. falconpy fetches its token on first use."""
    from falconpy import Hosts  # imported here: only the containment flows need it

    s = settings or get_settings()
    if s.FALCON_CLIENT_ID is None or s.FALCON_CLIENT_SECRET is None:
        raise RuntimeError("Falcon is not configured (FALCON_CLIENT_ID, FALCON_CLIENT_SECRET)")
    return Hosts(client_id=s.FALCON_CLIENT_ID,
                 client_secret=s.FALCON_CLIENT_SECRET.get_secret_value(),
                 base_url=s.FALCON_BASE_URL, timeout=timeout)
