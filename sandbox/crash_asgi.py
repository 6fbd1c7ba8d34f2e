"""ASGI middleware that carries out crash faults around the emulated services.

A middleware rather than code in each emulator: "before" must stop a request before any
emulator sees it, and "after" must let the emulator finish (state changed, request recorded)
and then withhold its answer, which is exactly the line between an app and its server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox import peers
from sandbox.crash import Client, CrashFault, CrashRecord
from sandbox.jira_api import MOUNT as JIRA_MOUNT
from sandbox.pagerduty_api import MOUNT as PAGERDUTY_MOUNT
from sandbox.state import SandboxState

# Enough for the kernel to close a SIGKILLed process's sockets; if it has not by then, the
# socket is held elsewhere and the request gets a 500 instead of hanging.
DISCONNECT_TIMEOUT_SECONDS = 5.0

log = logging.getLogger("sandbox.crash")


def outside_call(method: str, path: str) -> tuple[str, str] | None:
    """(service, name) as the emulators record the request; None for health."""
    if path.startswith("/slack/api/"):
        return "slack", path[len("/slack/api/"):]
    if path.startswith("/slack/response/"):
        return "slack", "response_url"
    if path == JIRA_MOUNT or path.startswith(JIRA_MOUNT + "/"):
        return "jira", f"{method} {path[len(JIRA_MOUNT):] or '/'}"
    if path.startswith(PAGERDUTY_MOUNT + "/"):
        return "pagerduty", f"{method} {path[len(PAGERDUTY_MOUNT):]}"
    return None


class CrashMiddleware:
    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        call = outside_call(scope["method"], scope["path"]) if scope["type"] == "http" else None
        due = self._arrive(call, scope) if call is not None else None
        if due is None or call is None:
            await self.app(scope, receive, send)
            return
        fault, client = due
        service, name = call
        reason = client if isinstance(client, str) else peers.refusal(client.pid)
        pid = None if isinstance(client, str) else client.pid
        if reason is not None:
            self._fired(fault, service, name, pid, reason)
            log.warning("crash fault at %s %s refused: %s", service, name, reason)
            await _plain(send, 500, f"sandbox crash fault refused: {reason}")
            return
        assert pid is not None
        if fault.when == "after":
            await self.app(scope, receive, _withhold)
        self._fired(fault, service, name, pid, peers.kill(pid) or "")
        if not await _disconnected(receive):
            await _plain(send, 500, f"sandbox crash fault: killed pid {pid} but its connection "
                                    "stayed open (socket shared with another process?)")

    def _arrive(self, call: tuple[str, str],
                scope: Scope) -> tuple[CrashFault, Client | str] | None:
        """Count the request against pending crash faults; the fault due on it and its sender.

        The client look-up runs on the event loop on purpose: requests are counted in the order
        they arrived, which a thread would not guarantee.
        """
        service, name = call
        book = self.state.crash_faults
        with self.state.lock:
            if not book.pending():
                return None
            needs_client = book.needs_client(service, name)
        ends = _ends(scope)
        client: Client | str = "the request has no peer address"
        if ends is not None and needs_client:
            client = peers.find_client(*ends)
        with self.state.lock:
            fault = book.arrive(service, name, client if isinstance(client, Client) else None)
        if fault is None:
            return None
        if ends is not None and not needs_client:
            client = peers.find_client(*ends)
        return fault, client

    def _fired(self, fault: CrashFault, service: str, name: str, pid: int | None,
               reason: str) -> None:
        self.state.record_crash(CrashRecord(
            service=service, name=name, when=fault.when, call=fault.seen, pid=pid,
            killed=not reason, reason=reason, at=time.time()))


def _ends(scope: Scope) -> tuple[tuple[str, int], tuple[str, int]] | None:
    """(client address, server address) of the connection, when the server knows them."""
    peer, server = scope.get("client"), scope.get("server")
    if peer is None or server is None:
        return None
    return (str(peer[0]), int(peer[1])), (str(server[0]), int(server[1]))


async def _withhold(message: Message) -> None:
    """The emulator's answer, dropped: its client is about to die without reading it."""


async def _disconnected(receive: Receive) -> bool:
    """Wait until the killed client's connection closes (so the server never answers it)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DISCONNECT_TIMEOUT_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass  # request body the emulator never read ("before")
            return True
    return False


async def _plain(send: Send, status: int, text: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": text.encode()})
