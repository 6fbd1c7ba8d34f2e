"""Which channels are incidents: the state Blocks, with "not an incident" cached briefly.

Only negative answers are cached: they absorb bursts of commands in ordinary channels, while an
incident's own state (pending archive, closing) is always read fresh.

The bound holds across webhook replicas, which share nothing but Prefect: every answer comes
from a Prefect read that began at most TTL_SECONDS before the request arrived. So a channel that
became an incident is answered as one by every replica within TTL_SECONDS, never later:
- an entry is dated when its read began, not when it ended (a slow read does not extend it);
- a request joins a read already in flight only if that read is younger than the TTL;
- the clock counts time a suspended host slept (CLOCK_BOOTTIME), and an entry dated in the
  future (a clock that went back) is no entry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from tasks.state import IncidentState

Loader = Callable[[str], Awaitable[IncidentState | None]]
Clock = Callable[[], float]

# Long enough to absorb bursts of commands, short enough that an archive shows promptly.
TTL_SECONDS = 3.0
# Expired entries are dropped when the cache grows past this many channels.
_PRUNE_ABOVE = 1024


def boot_clock() -> float:
    """Seconds since boot, sleep included (a monotonic clock stops while a VM is paused, and
    an entry would outlive its TTL by the pause); monotonic where Linux's is missing."""
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):
        return time.monotonic()


class IncidentDirectory:
    """Looks up incident state per channel, one Prefect call per channel per TTL at most."""

    def __init__(self, load: Loader, ttl: float = TTL_SECONDS, clock: Clock = boot_clock) -> None:
        self._load = load
        self._ttl = ttl
        self._clock = clock
        # channel → (when its newest read began, whether that read found an incident)
        self._seen: dict[str, tuple[float, bool]] = {}
        self._inflight: dict[str, tuple[float, asyncio.Future[IncidentState | None]]] = {}

    def _fresh(self, began: float) -> bool:
        return 0 <= self._clock() - began < self._ttl

    def known_not_incident(self, channel_id: str) -> bool:
        """True when a recent lookup found no incident here (answerable without any I/O)."""
        seen = self._seen.get(channel_id)
        return seen is not None and not seen[1] and self._fresh(seen[0])

    async def find(self, channel_id: str) -> IncidentState | None:
        """The channel's incident, or None; concurrent callers share one recent lookup."""
        if self.known_not_incident(channel_id):
            return None
        pending = self._inflight.get(channel_id)
        if pending is not None and self._fresh(pending[0]):
            return await asyncio.shield(pending[1])
        began = self._clock()
        future: asyncio.Future[IncidentState | None] = asyncio.get_running_loop().create_future()
        self._inflight[channel_id] = (began, future)
        try:
            state = await self._load(channel_id)
            self._remember(channel_id, began, found=state is not None)
            future.set_result(state)
            return state
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            if self._inflight.get(channel_id, (None, None))[1] is future:
                del self._inflight[channel_id]

    def _remember(self, channel_id: str, began: float, found: bool) -> None:
        newest = self._seen.get(channel_id)
        if newest is None or began >= newest[0]:  # an older read never overrules a newer one
            self._seen[channel_id] = (began, found)
        if len(self._seen) > _PRUNE_ABOVE:
            self._seen = {c: s for c, s in self._seen.items() if self._fresh(s[0])}
