"""The webhook in this process: the real Bolt app and listeners, with Prefect replaced by a
recorder. Requests go through FastAPI's ASGI app (httpx's ASGITransport), signed as Slack signs
them; the Slack Web API calls the listeners make go to the sandbox. No server is started."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.signing import sign, slash_command_body
from tasks.state import IncidentState
from webhook.handoff import Handoff, Resumed


class RecordingHandoff(Handoff):
    """Stands in for Prefect: records every run and resume asked for; knows `incidents` only."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[tuple[str, dict[str, Any], str]] = []
        self.resumed: list[tuple[str, str, str]] = []
        self.incidents: dict[str, IncidentState] = {}
        self._runs: dict[str, tuple[str, dict[str, Any]]] = {}  # key → (run id, parameters)

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def start_run(self, deployment: str, parameters: dict[str, Any],
                        idempotency_key: str) -> str:
        self.started.append((deployment, parameters, idempotency_key))
        # As Prefect does: a repeated key gets the first run (and its parameters).
        run = self._runs.setdefault(idempotency_key, (str(uuid.uuid4()), parameters))
        return run[0]

    async def run_parameters(self, run_id: str) -> dict[str, Any]:
        return next((dict(p) for r, p in self._runs.values() if r == run_id), {})

    async def load_incident(self, channel_id: str) -> IncidentState | None:
        return self.incidents.get(channel_id)

    async def run_state(self, run_id: str | None) -> str | None:
        return None

    async def resume_archive(self, run_id: str, decision: str, decided_by: str) -> Resumed:
        self.resumed.append((run_id, decision, decided_by))
        return Resumed.RESUMED

    @property
    def anything_started(self) -> bool:
        return bool(self.started or self.resumed)


async def _settle(before: set[asyncio.Task[Any]], wait_s: float = 10.0) -> None:
    """Wait for what the request left running: Bolt runs a listener on after its ack."""
    current = asyncio.current_task()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        pending = {t for t in asyncio.all_tasks() - before if t is not current and not t.done()}
        if not pending or loop.time() >= deadline:
            return
        await asyncio.wait(pending, timeout=deadline - loop.time())


@dataclass
class InProcessWebhook:
    """Plays Slack towards the in-process webhook."""

    http: httpx.AsyncClient
    handoff: RecordingHandoff
    sandbox: Any
    secret: str
    response_urls: list[str] = field(default_factory=list)

    def response_url(self) -> str:
        """A fresh response_url, remembered so that later answers on it can be read."""
        url = str(self.sandbox.response_url())
        self.response_urls.append(url)
        return url

    async def post(self, body: bytes | str, headers: dict[str, str] | None = None,
                   **options: Any) -> httpx.Response:
        """POST /slack/events (signed unless headers are given); returns once the listener's
        work after the ack has finished too."""
        raw = body if isinstance(body, bytes) else body.encode()
        before = asyncio.all_tasks()
        resp = await self.http.post("/slack/events", content=options.pop("content", raw),
                                    headers=sign(self.secret, raw) if headers is None
                                    else headers, **options)
        await _settle(before)
        return resp

    def command_body(self, text: str, user: str, channel: str, **fields: str | None) -> str:
        """A `/irbot` form body; a field given as None is left out."""
        body = slash_command_body(text=text, user_id=user, user_name="tester",
                                  channel_id=channel, channel_name="general",
                                  team_id=self.sandbox.team_id, response_url=self.response_url(),
                                  trigger_id=self.sandbox.new_trigger_id())
        pairs = dict(httpx.QueryParams(body))
        for name, value in fields.items():
            if value is None:
                pairs.pop(name, None)
            else:
                pairs[name] = value
        return str(httpx.QueryParams(pairs))

    def answers(self) -> list[dict[str, Any]]:
        """Everything the webhook sent to the response_urls minted here."""
        return [r["body"] for r in self.sandbox.responses if r["url"] in self.response_urls]
