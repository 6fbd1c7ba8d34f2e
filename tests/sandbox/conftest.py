"""Fixtures for the sandbox's own tests: a fresh emulator per test (it starts in ~20 ms)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jira import JIRA
from slack_sdk import WebClient
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as box:
        yield box


@pytest.fixture
def slack(sb: Sandbox) -> WebClient:
    return WebClient(token=sb.bot_token, base_url=sb.slack_api_url)


@pytest.fixture
def aslack(sb: Sandbox) -> AsyncWebClient:
    return AsyncWebClient(token=sb.bot_token, base_url=sb.slack_api_url)


@pytest.fixture
def jira(sb: Sandbox) -> JIRA:
    return JIRA(server=sb.jira_url, basic_auth=(sb.jira_user, sb.jira_token),
                get_server_info=True, max_retries=0, timeout=10)
