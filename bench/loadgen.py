"""An open-loop HTTP load generator light enough to share two cores with the servers it measures.

Why not httpx for the timed requests: httpcore's connection pool rescans every connection for
every pending request (`_assign_requests_to_connections`), so once a server falls behind and a
few hundred requests are in flight, the *generator* becomes CPU-bound (measured here: 8.7 s of
CPU for 5 s of load at 100 req/s, 2.2 s send lag) and reports its own slowness as the server's.
This client does O(1) work per request: a stack of idle keep-alive connections, one pre-built
request per send, a Content-Length body read. httpx is still used for everything untimed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass
class Sample:
    lag_s: float  # how late the generator sent it: the generator's health, not the server's
    latency_s: float  # send → whole response read (or → the error)
    status: int  # 0 when there was no HTTP answer
    body: bytes
    error: str | None = None  # "timeout", a connection error's name, or None


def build_post(url: str, body: str, headers: Mapping[str, str]) -> bytes:
    """The exact bytes of one HTTP/1.1 POST, built before the timed loop."""
    parts = urlsplit(url)
    payload = body.encode()
    head = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}",
            f"Content-Length: {len(payload)}", "Connection: keep-alive"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


class RawClient:
    """HTTP/1.1 keep-alive client for one host; safe for many concurrent requests."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._idle: list[_Conn] = []

    async def _exchange(self, conn: _Conn, request: bytes) -> tuple[int, bytes, bool]:
        reader, writer = conn
        writer.write(request)
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, keep = 0, True
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
        return status, await reader.readexactly(length) if length else b"", keep

    async def post(self, request: bytes) -> tuple[int, bytes]:
        """Send pre-built bytes; returns (status, body)."""
        if self._idle:
            try:
                return await self._use(self._idle.pop(), request)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass  # uvicorn drops keep-alive connections idle for 5 s: retry on a fresh one
        return await self._use(await asyncio.open_connection(self._host, self._port), request)

    async def _use(self, conn: _Conn, request: bytes) -> tuple[int, bytes]:
        try:
            status, body, keep = await self._exchange(conn, request)
        except BaseException:
            conn[1].close()  # half-read, or cancelled by the timeout: never reuse it
            raise
        if keep:
            self._idle.append(conn)
        else:
            conn[1].close()
        return status, body

    async def aclose(self) -> None:
        while self._idle:
            _, writer = self._idle.pop()
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _one(client: RawClient, request: bytes, scheduled: float, give_up_s: float) -> Sample:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(give_up_s):
            status, body = await client.post(request)
    except TimeoutError:
        return Sample(started - scheduled, time.perf_counter() - started, 0, b"", "timeout")
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        return Sample(started - scheduled, time.perf_counter() - started, 0, b"",
                      type(exc).__name__)
    return Sample(started - scheduled, time.perf_counter() - started, status, body)


async def open_loop(client: RawClient, requests: list[bytes], rate: float,
                    give_up_s: float) -> tuple[list[Sample], float]:
    """Send request i at t0 + i/rate whatever happened to the earlier ones (open loop: a slow
    server does not slow the arrivals, as with real users). A request unanswered after
    `give_up_s` counts as a timeout. Returns the samples and the rate actually achieved."""
    tasks: list[asyncio.Task[Sample]] = []
    t0 = time.perf_counter() + 0.05
    for i, request in enumerate(requests):
        at = t0 + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(client, request, at, give_up_s)))
    span = time.perf_counter() - t0
    samples = await asyncio.gather(*tasks)
    return samples, (len(requests) - 1) / span if span > 0 else float("nan")
