"""The incident lock asks again when the Prefect server fails to grant it (a burst on SQLite
answers 503 "database is locked" past the client's own retries), and fails on anything else.

Prefect's `concurrency` is replaced by a stand-in that fails as the real one does (the HTTP
error as the cause of ConcurrencySlotAcquisitionError); the retry loop is irbot's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError

from tasks import state
from tasks.errors import NotAnIncident


def http_error(status: int) -> ConcurrencySlotAcquisitionError:
    request = httpx.Request("POST", "http://prefect/api/v2/concurrency_limits/increment-with-lease")
    cause = httpx.HTTPStatusError(f"{status}", request=request,
                                  response=httpx.Response(status, request=request))
    error = ConcurrencySlotAcquisitionError(f"Unable to acquire concurrency slots: {status}")
    error.__cause__ = cause
    return error


class FlakyLock:
    """Fails with `errors` in turn, then grants the lock; records what it was asked."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.asked = 0
        self.held = 0
        self.released = 0

    @contextmanager
    def __call__(self, *args: Any, **kwargs: Any) -> Iterator[None]:
        self.asked += 1
        if self.errors:
            raise self.errors.pop(0)
        self.held += 1
        try:
            yield
        finally:
            self.released += 1


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(state.time, "sleep", slept.append)
    return slept


def test_a_server_error_is_asked_again_with_growing_waits(
        monkeypatch: pytest.MonkeyPatch, no_sleep: list[float]) -> None:
    lock = FlakyLock(http_error(503), http_error(503), http_error(500))
    monkeypatch.setattr(state, "concurrency", lock)
    with state.incident_lock("C1"):
        assert lock.held == 1
    assert (lock.asked, lock.released) == (4, 1)
    assert no_sleep == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("error", [
    http_error(403),
    ConcurrencySlotAcquisitionError("Unable to acquire concurrency slots on ['x']"),
], ids=["refused", "no-cause"])
def test_anything_but_a_server_error_fails_at_once(
        monkeypatch: pytest.MonkeyPatch, no_sleep: list[float], error: Exception) -> None:
    lock = FlakyLock(error)
    monkeypatch.setattr(state, "concurrency", lock)
    with pytest.raises(ConcurrencySlotAcquisitionError), state.incident_lock("C1"):
        pass
    assert (lock.asked, no_sleep) == (1, [])


def test_a_missing_lock_means_the_incident_is_closed(
        monkeypatch: pytest.MonkeyPatch, no_sleep: list[float]) -> None:
    monkeypatch.setattr(state, "concurrency", FlakyLock(ConcurrencySlotAcquisitionError(
        "Concurrency limits ['irbot-incident-C1'] must be created before acquiring slots")))
    with pytest.raises(NotAnIncident, match="closed"), state.incident_lock("C1"):
        pass


def test_the_body_failing_releases_the_lock_and_is_not_retried(
        monkeypatch: pytest.MonkeyPatch, no_sleep: list[float]) -> None:
    lock = FlakyLock()
    monkeypatch.setattr(state, "concurrency", lock)
    with pytest.raises(RuntimeError, match="body"), state.incident_lock("C1"):
        raise RuntimeError("body")
    assert (lock.asked, lock.released) == (1, 1)


def test_the_server_is_asked_no_longer_than_the_lock_timeout(
        monkeypatch: pytest.MonkeyPatch, no_sleep: list[float]) -> None:
    lock = FlakyLock(*[http_error(503)] * 3)
    monkeypatch.setattr(state, "concurrency", lock)
    monkeypatch.setattr(state, "LOCK_TIMEOUT_SECONDS", 0)
    with pytest.raises(ConcurrencySlotAcquisitionError), state.incident_lock("C1"):
        pass
    assert lock.asked == 1
