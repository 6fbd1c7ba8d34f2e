"""Slack's Socket Mode, emulated: `apps.connections.open` tickets, the WebSocket, envelopes, acks.

Slack says `hello` on a new connection, sends envelopes ({envelope_id, type, payload,
accepts_response_payload}) and expects an ack ({envelope_id, payload?}) within 3 s. Now and then
it asks a connection to go away (`disconnect`, reason `refresh_requested`); the app opens a new
one. Tests send envelopes from their own thread: everything here is guarded by one lock, and
sends are handed to the server's event loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

PATH = "/slack/socket"
# How long `send` waits for a connection to deliver to (Slack holds envelopes while an app
# reconnects; after a refresh the new connection is usually up within a second).
DELIVERY_WAIT_SECONDS = 10.0
SEND_TIMEOUT_SECONDS = 5.0


@dataclass
class Connection:
    id: int
    websocket: WebSocket
    loop: asyncio.AbstractEventLoop
    opened_at: float
    retiring: bool = False  # told to disconnect: Slack sends it nothing new
    muted: bool = False  # open and answering pings, but its envelopes are lost (a silent socket)
    delivered: list[str] = field(default_factory=list)


class SocketHub:
    """The connections the sandbox holds and what went over them."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._tickets: set[str] = set()
        self._connections: list[Connection] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self._ids = 0
        self.opened = 0  # connections ever accepted

    # --- apps.connections.open -----------------------------------------------------------

    def new_ticket(self) -> str:
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return ticket

    def _take_ticket(self, ticket: str) -> bool:
        with self._lock:
            if ticket in self._tickets:
                self._tickets.remove(ticket)  # one-off, like Slack's URLs
                return True
            return False

    # --- the WebSocket endpoint (runs on the server's loop) ------------------------------

    async def serve(self, websocket: WebSocket) -> None:
        if not self._take_ticket(websocket.query_params.get("ticket", "")):
            await websocket.close(code=4001)  # before accept: the handshake is refused
            return
        await websocket.accept()
        with self._changed:
            self._ids += 1
            self.opened += 1
            conn = Connection(self._ids, websocket, asyncio.get_running_loop(), time.time())
            self._connections.append(conn)
            count = len([c for c in self._connections if not c.retiring])
            self._changed.notify_all()
        await websocket.send_text(json.dumps({
            "type": "hello", "num_connections": count,
            "debug_info": {"host": "sandbox", "build_number": 1,
                           "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id}}))
        try:
            while True:
                self._on_message(await websocket.receive_text())
        except WebSocketDisconnect:
            pass
        finally:
            with self._changed:
                if conn in self._connections:
                    self._connections.remove(conn)
                self._changed.notify_all()

    def _on_message(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return  # Slack ignores what it cannot parse
        if isinstance(message, dict) and message.get("envelope_id"):
            with self._changed:
                self._acks[str(message["envelope_id"])] = message
                self._changed.notify_all()

    # --- what tests do (any thread) -------------------------------------------------------

    def send(self, kind: str, payload: dict[str, Any], accepts_response_payload: bool = True,
             wait: float = DELIVERY_WAIT_SECONDS) -> str:
        """Deliver an envelope to the newest live connection; returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": accepts_response_payload}
        with self._changed:
            if not self._changed.wait_for(self._live, timeout=wait):
                raise TimeoutError(f"no Socket Mode connection to deliver to after {wait:.0f} s")
            conn = [c for c in self._connections if not c.retiring][-1]
            conn.delivered.append(envelope_id)
            if conn.muted:
                return envelope_id  # lost, as on a silent socket
        self._send_text(conn, json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any] | None:
        """The app's ack of an envelope ({envelope_id, payload?}), or None if none came."""
        with self._changed:
            self._changed.wait_for(lambda: envelope_id in self._acks, timeout=timeout)
            return self._acks.get(envelope_id)

    def disconnect(self, reason: str = "refresh_requested") -> int:
        """Ask every live connection to go away, as Slack's periodic refresh does."""
        with self._lock:
            targets = [c for c in self._connections if not c.retiring]
            for conn in targets:
                conn.retiring = True
        for conn in targets:
            self._send_text(conn, json.dumps({"type": "disconnect", "reason": reason,
                                              "debug_info": {"host": "sandbox"}}))
        return len(targets)

    def drop(self) -> int:
        """Close every connection without a word, as a network failure would."""
        with self._lock:
            targets = list(self._connections)
        for conn in targets:
            future = asyncio.run_coroutine_threadsafe(conn.websocket.close(code=1011), conn.loop)
            try:
                future.result(SEND_TIMEOUT_SECONDS)
            except Exception:  # already closing
                future.cancel()
        return len(targets)

    def mute(self) -> bool:
        """The connection envelopes go to stays open (pings answered) but loses them."""
        with self._lock:
            live = [c for c in self._connections if not c.retiring]
            if live:
                live[-1].muted = True
            return bool(live)

    def wait_connections(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait until at least `count` live connections are open."""
        with self._changed:
            return self._changed.wait_for(
                lambda: len([c for c in self._connections if not c.retiring]) >= count,
                timeout=timeout)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"opened": self.opened, "connections": [
                {"id": c.id, "opened_at": c.opened_at, "retiring": c.retiring, "muted": c.muted,
                 "delivered": len(c.delivered)} for c in self._connections]}

    def _live(self) -> bool:
        return any(not c.retiring for c in self._connections)

    @staticmethod
    def _send_text(conn: Connection, text: str) -> None:
        future = asyncio.run_coroutine_threadsafe(conn.websocket.send_text(text), conn.loop)
        try:
            future.result(SEND_TIMEOUT_SECONDS)
        except Exception:  # the connection closed meanwhile: like Slack, move on
            future.cancel()


def socket_routes(hub: SocketHub) -> list[WebSocketRoute]:
    return [WebSocketRoute(PATH, hub.serve)]
