"""The ASGI app: FastAPI routes wired to the Bolt app. Wiring only."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_sdk.signature import SignatureVerifier

from tasks.settings import Settings, get_settings
from webhook.bolt import build_bolt
from webhook.guard import Refusal
from webhook.handoff import Handoff
from webhook.intake import admit


def create_api(settings: Settings | None = None, handoff: Handoff | None = None) -> FastAPI:
    """Build the webhook (uvicorn factory: `webhook.app:create_api`; tests pass a stand-in)."""
    settings = settings or get_settings()
    secret = settings.SLACK_SIGNING_SECRET.get_secret_value()
    handoff = handoff or Handoff()
    bolt = build_bolt(settings, handoff)
    verifier = SignatureVerifier(secret)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await handoff.start()
        # Prefect leaves ~150k long-lived objects; freezing them keeps full GC pauses short.
        gc.collect()
        gc.freeze()
        yield
        await handoff.stop()

    api = FastAPI(title="irbot", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)

    @api.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        """Slash commands and interactivity from Slack."""
        # The guard reads the body itself (capped), so Bolt's adapter gets the bytes, not the
        # request: `AsyncSlackRequestHandler.handle` would read a consumed stream.
        admitted = await admit(request, verifier)
        if isinstance(admitted, Refusal):
            return JSONResponse(admitted.answer(), status_code=admitted.status)
        bolt_response = await bolt.async_dispatch(to_async_bolt_request(request, admitted))
        return to_starlette_response(bolt_response)

    @api.get("/health")
    async def health() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    return api
