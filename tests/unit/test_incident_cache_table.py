"""The webhook's "not an incident" cache is stale for at most its TTL, whatever the clock does.

The bound is what lets webhook replicas share nothing but Prefect: every answer comes from a
read that began at most TTL seconds before the request. The loader here stands for the Prefect
read (the directory takes it as a parameter); the clock is a number the test moves.
"""

from __future__ import annotations

import asyncio
from typing import Any

from webhook.incidents import IncidentDirectory, boot_clock

TTL = 3.0
INCIDENT: Any = object()  # any state: the directory only tells "some" from None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Reads:
    """The Prefect side: what each channel is, how many reads were made; a read can be held."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.incidents: set[str] = set()
        self.count = 0
        self.took = 0.0  # seconds the clock moves during each read
        self.gate: asyncio.Event | None = None

    async def load(self, channel: str) -> Any:
        self.count += 1
        found = INCIDENT if channel in self.incidents else None  # the state when the read began
        self.clock.now += self.took
        if self.gate is not None:
            await self.gate.wait()
        return found


def directory() -> tuple[IncidentDirectory, Reads, Clock]:
    clock = Clock()
    reads = Reads(clock)
    return IncidentDirectory(reads.load, TTL, clock), reads, clock


async def test_a_negative_answer_is_reused_only_within_the_ttl() -> None:
    incidents, reads, clock = directory()
    assert await incidents.find("C1") is None
    reads.incidents.add("C1")  # it became an incident on another replica
    clock.now += TTL - 0.01
    assert incidents.known_not_incident("C1")
    assert await incidents.find("C1") is None and reads.count == 1
    clock.now += 0.01
    assert not incidents.known_not_incident("C1")
    assert await incidents.find("C1") is INCIDENT and reads.count == 2


async def test_the_ttl_runs_from_when_the_read_began_not_when_it_ended() -> None:
    incidents, reads, clock = directory()
    reads.took = 2.5  # a slow Prefect answer
    began = clock.now
    assert await incidents.find("C1") is None
    clock.now = began + TTL  # only 0.5 s after the answer came
    assert not incidents.known_not_incident("C1")


async def test_a_clock_that_went_back_invalidates_every_entry() -> None:
    incidents, reads, clock = directory()
    assert await incidents.find("C1") is None
    clock.now -= 3600  # wall clocks jump; whatever clock is given, a future date is no date
    assert not incidents.known_not_incident("C1")
    reads.incidents.add("C1")
    assert await incidents.find("C1") is INCIDENT


async def test_a_read_in_flight_is_shared_only_while_it_is_younger_than_the_ttl() -> None:
    incidents, reads, clock = directory()
    reads.gate = asyncio.Event()
    first = asyncio.create_task(incidents.find("C1"))
    await asyncio.sleep(0)
    joined = asyncio.create_task(incidents.find("C1"))
    await asyncio.sleep(0)
    assert reads.count == 1  # joined the read in flight
    reads.incidents.add("C1")
    clock.now += TTL  # the first read is now too old to answer a new request
    late = asyncio.create_task(incidents.find("C1"))
    await asyncio.sleep(0)
    assert reads.count == 2
    reads.gate.set()
    assert await first is None and await joined is None
    assert await late is INCIDENT
    assert not incidents.known_not_incident("C1")  # the older read does not overrule the newer


async def test_an_incident_is_never_cached() -> None:
    incidents, reads, _ = directory()
    reads.incidents.add("C1")
    for _ in range(3):
        assert await incidents.find("C1") is INCIDENT
    assert reads.count == 3


async def test_a_failed_read_caches_nothing_and_reaches_every_waiter() -> None:
    incidents, reads, _ = directory()

    async def broken(channel: str) -> Any:
        await asyncio.sleep(0)
        raise ConnectionError("Prefect is down")

    incidents = IncidentDirectory(broken, TTL, reads.clock)
    results = await asyncio.gather(incidents.find("C1"), incidents.find("C1"),
                                   return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert not incidents.known_not_incident("C1")


def test_the_default_clock_counts_forward() -> None:
    before = boot_clock()
    assert boot_clock() >= before
