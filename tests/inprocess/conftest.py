"""In-process webhook fixtures: the real FastAPI + Bolt app, a recording stand-in for Prefect,
and the session sandbox for Slack. No Prefect server: these tests start nothing, by design."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tasks.settings import Settings, load_settings
from tests.conftest import SIGNING_SECRET
from tests.inprocess.support import InProcessWebhook, RecordingHandoff
from webhook.app import create_api


@pytest.fixture
def webhook_settings(irbot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """irbot's Settings pointed at the sandbox, from the environment as in production."""
    for name, value in irbot_env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.fixture
async def webhook(webhook_settings: Settings, sandbox: object) -> AsyncIterator[InProcessWebhook]:
    """A fresh webhook (and recorder) per test, driven through its ASGI app."""
    handoff = RecordingHandoff()
    api = create_api(webhook_settings, handoff)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://irbot.test") as http:
        yield InProcessWebhook(http, handoff, sandbox, SIGNING_SECRET)


@pytest.fixture(scope="session")
def responder(sandbox: object) -> tuple[str, str]:
    """A user and an ordinary channel (not an incident) they type commands in."""
    user = sandbox.add_user("mallory", "Mallory Tester")  # type: ignore[attr-defined]
    channel = sandbox.add_channel("general-inprocess", members=[user])  # type: ignore[attr-defined]
    return str(user), str(channel)
