"""The baseline: a minimal Bolt AsyncApp on FastAPI with one `/irbot` listener that only acks.

It goes through the same framework path as irbot's webhook (signature check, single-team
authorization with its one auth.test, listener dispatch, FastAPI adapter), so the difference
between the two is what irbot adds. Run it exactly like the webhook:
`python -m uvicorn bench.bare_app:create_api --factory --host 127.0.0.1 --port P`.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def create_api() -> FastAPI:
    """uvicorn factory; reads the same environment variables as irbot."""
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"],
                            base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"))
    bolt = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @bolt.command("/irbot")
    async def irbot_command(ack: Any) -> None:
        await ack(text="ok")

    handler = AsyncSlackRequestHandler(bolt)
    api = FastAPI(title="bare", docs_url=None, redoc_url=None, openapi_url=None)

    @api.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        """Slash commands."""
        return await handler.handle(request)

    @api.get("/health")
    async def health() -> dict[str, str]:
        """Liveness, so the benchmark knows when it is up."""
        return {"status": "ok"}

    return api
