"""Quick retries of a local Prefect server's 503s, for the webhook's Prefect client.

A SQLite-backed Prefect server answers 503 ("database is locked") when two writes collide;
the lock clears within milliseconds, but Prefect's client waits 2 s before its first retry.
Creating a run from a Slack command should not take that long, so this transport tries again
after short pauses first; Prefect's own retries remain behind it for longer outages.
"""

from __future__ import annotations

import asyncio

import httpx

QUICK_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)


class QuickRetryTransport(httpx.AsyncHTTPTransport):
    """An HTTP transport that retries a bare 503 a few times, quickly."""

    def __init__(self, delays: tuple[float, ...] = QUICK_DELAYS) -> None:
        super().__init__(retries=3)  # connection retries, as Prefect configures by default
        self._delays = delays

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()  # the body must be re-sendable
        for delay in self._delays:
            response = await super().handle_async_request(request)
            if response.status_code != 503 or "retry-after" in response.headers:
                return response
            await response.aclose()
            await asyncio.sleep(delay)
        return await super().handle_async_request(request)
