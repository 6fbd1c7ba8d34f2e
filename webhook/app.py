"""The ASGI app: FastAPI routes wired to the Bolt app. Wiring only."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

from tasks.settings import get_settings
from webhook.bolt import build_bolt
from webhook.guard import INVALID, signature_headers_malformed
from webhook.handoff import Handoff


def create_api() -> FastAPI:
    """Build the webhook (uvicorn factory: `webhook.app:create_api`)."""
    prefect = Handoff()
    handler = AsyncSlackRequestHandler(build_bolt(get_settings(), prefect))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await prefect.start()
        # Prefect leaves ~150k long-lived objects; freezing them keeps full GC pauses short.
        gc.collect()
        gc.freeze()
        yield
        await prefect.stop()

    api = FastAPI(title="irbot", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)

    @api.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        """Slash commands and interactivity from Slack."""
        if signature_headers_malformed(request.headers):
            return JSONResponse(INVALID, status_code=401)
        return await handler.handle(request)  # type: ignore[no-any-return]

    @api.get("/health")
    async def health() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    return api
