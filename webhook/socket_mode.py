"""Socket Mode: the same Bolt app, reached over a WebSocket irbot opens to Slack.

Bolt's AsyncSocketModeHandler (slack-sdk's aiohttp client) does the protocol: hello, envelopes,
acks, Slack's `disconnect` refreshes, and a reconnect when pings go unanswered. Two things are
ours: HTTP still answers `GET /health`, saying whether the socket is connected and when the last
envelope came, and a socket that stays open but brings nothing for IRBOT_SOCKET_IDLE_SECONDS is
replaced (Bolt users report sockets that go silent after an idle reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient

from tasks.settings import get_settings
from webhook.bolt import build_bolt
from webhook.handoff import Handoff

log = logging.getLogger("irbot.socket")
_WATCH_EVERY_SECONDS = 1.0


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat()


@dataclass
class SocketHealth:
    """What the socket has done, from the messages the client hands its listeners."""

    connected_since: float | None = None  # the last `hello`
    last_envelope_at: float | None = None
    last_message_at: float | None = None
    connections: int = 0
    silent_reconnects: int = 0

    async def on_message(self, client: AsyncBaseSocketModeClient, message: dict[str, Any],
                         raw: str | None) -> None:
        now = time.time()
        self.last_message_at = now
        if message.get("type") == "hello":
            self.connected_since = now
            self.connections += 1
        elif message.get("envelope_id"):
            self.last_envelope_at = now

    def quiet_for(self, now: float) -> float:
        """Seconds since the socket last brought anything (a new connection counts)."""
        latest = max(self.last_message_at or 0.0, self.connected_since or 0.0)
        return now - latest if latest else 0.0

    def report(self, connected: bool) -> dict[str, Any]:
        return {
            "status": "ok" if connected else "disconnected",
            "mode": "socket",
            "socket": {
                "connected": connected,
                "connected_since": _iso(self.connected_since),
                "last_envelope_at": _iso(self.last_envelope_at),
                "connections": self.connections,
                "silent_reconnects": self.silent_reconnects,
            },
        }


async def watch_silence(client: SocketModeClient, health: SocketHealth, idle: int) -> None:
    """Replace a connected socket that has been quiet for `idle` seconds."""
    while True:
        await asyncio.sleep(_WATCH_EVERY_SECONDS)
        quiet = health.quiet_for(time.time())
        if idle and quiet >= idle and await client.is_connected():
            log.warning("Socket Mode: nothing from Slack for %.0f s; opening a new connection",
                        quiet)
            health.silent_reconnects += 1
            health.last_message_at = time.time()  # one attempt per quiet period
            try:
                await client.connect_to_new_endpoint(force=True)
            except Exception:  # the client's own monitor keeps retrying
                log.exception("Socket Mode: reconnecting failed")


def create_socket_api() -> FastAPI:
    """`GET /health` over HTTP, everything else over the socket (`webhook.socket_mode:...`)."""
    settings = get_settings()
    if settings.SLACK_APP_TOKEN is None:
        raise RuntimeError("Socket Mode needs SLACK_APP_TOKEN")
    handoff = Handoff()
    handler = AsyncSocketModeHandler(build_bolt(settings, handoff),
                                     settings.SLACK_APP_TOKEN.get_secret_value())
    health = SocketHealth()
    handler.client.message_listeners.append(health.on_message)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await handoff.start()
        gc.collect()
        gc.freeze()  # as in webhook.app: short GC pauses
        # In the background: the client retries until Slack answers, and /health says so.
        tasks = [asyncio.create_task(handler.connect_async()),  # type: ignore[no-untyped-call]
                 asyncio.create_task(watch_silence(handler.client, health,
                                                   settings.IRBOT_SOCKET_IDLE_SECONDS))]
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await handler.close_async()  # type: ignore[no-untyped-call]
        await handoff.stop()

    api = FastAPI(title="irbot", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)

    @api.get("/health")
    async def socket_health() -> JSONResponse:
        """Is the socket connected, and when did Slack last send something? (503 if not.)"""
        connected = await handler.client.is_connected() and health.connected_since is not None
        return JSONResponse(health.report(connected), status_code=200 if connected else 503)

    return api
