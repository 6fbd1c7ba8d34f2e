"""Which channels are incidents: the state Blocks, with "not an incident" cached briefly.

Only negative answers are cached: they absorb bursts of commands in ordinary channels, while an
incident's own state (pending archive, closing) is always read fresh.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from tasks.state import IncidentState

Loader = Callable[[str], Awaitable[IncidentState | None]]

# Long enough to absorb bursts of commands, short enough that an archive shows promptly.
TTL_SECONDS = 3.0


class IncidentDirectory:
    """Looks up incident state per channel, one Prefect call per channel per TTL at most."""

    def __init__(self, load: Loader, ttl: float = TTL_SECONDS) -> None:
        self._load = load
        self._ttl = ttl
        self._cache: dict[str, float] = {}  # channel → when it was found not to be an incident
        self._inflight: dict[str, asyncio.Future[IncidentState | None]] = {}

    def known_not_incident(self, channel_id: str) -> bool:
        """True when a recent lookup found no incident here (answerable without any I/O)."""
        hit = self._cache.get(channel_id)
        return hit is not None and time.monotonic() - hit < self._ttl

    async def find(self, channel_id: str) -> IncidentState | None:
        """The channel's incident, or None; concurrent callers share one lookup."""
        if self.known_not_incident(channel_id):
            return None
        pending = self._inflight.get(channel_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[IncidentState | None] = asyncio.get_running_loop().create_future()
        self._inflight[channel_id] = future
        try:
            state = await self._load(channel_id)
            if state is None:
                self._cache[channel_id] = time.monotonic()
            future.set_result(state)
            return state
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[channel_id]
