"""Hand-off to Prefect: start deployment runs, resume paused ones, read incident state.

One long-lived Prefect client serves the whole webhook process: building a client per call
costs ~20 ms of CPU (TLS context, settings), which at 100 requests/s stalls the event loop.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Any
from uuid import UUID

from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.deployments.flow_runs import arun_deployment
from prefect.exceptions import ObjectAlreadyExists, PrefectHTTPStatusError

from tasks.runs import arun_state
from tasks.state import IncidentState, afind_incident, run_is_final
from webhook.prefect_retry import QuickRetryTransport

# The buttons exist just before the run suspends; a click that beats the suspension is retried
# this long (the click is acked at once; only the outcome waits).
_RESUME_WAIT_SECONDS = 15.0
# A run killed on its way to the wait is re-run by the heal automation (tasks/runs.py) and waits
# again: a click meant for it waits that long (the crash seen, the automation, a new process,
# and the lock's lease when it died holding the lock).
_HEAL_WAIT_SECONDS = 180.0
_REGISTER_ATTEMPTS = 3


class Resumed(enum.Enum):
    """What became of a button click."""

    RESUMED = "resumed"
    ALREADY_DECIDED = "already_decided"


class Handoff:
    """The webhook's side of Prefect, over one client opened at start-up."""

    def __init__(self) -> None:
        self._client: PrefectClient | None = None

    async def start(self) -> None:
        """Open the client and make sure the state block type exists."""
        client = get_client(httpx_settings={"transport": QuickRetryTransport()})
        await client.__aenter__()
        self._client = client
        for attempt in range(1, _REGISTER_ATTEMPTS + 1):
            try:
                await IncidentState.aregister_type_and_schema(client=client)
                break
            except ObjectAlreadyExists:
                # Replicas starting together on a new server race to create the block type
                # (read, then create): the loser's 409 means it exists now; register again.
                if attempt == _REGISTER_ATTEMPTS:
                    raise

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.__aexit__(None, None, None)
            self._client = None

    @property
    def client(self) -> PrefectClient:
        if self._client is None:
            raise RuntimeError("Handoff.start() was not awaited")
        return self._client

    async def start_run(self, deployment: str, parameters: dict[str, Any],
                        idempotency_key: str) -> str:
        """Create a run without waiting; a repeated key returns the same run (Slack retries)."""
        run = await arun_deployment(deployment, client=self.client, parameters=parameters,
                                    timeout=0, idempotency_key=idempotency_key)
        return str(run.id)

    async def run_parameters(self, run_id: str) -> dict[str, Any]:
        """The parameters a run was created with (a repeated idempotency key returns the
        first run: its parameters say whose request won)."""
        run = await self.client.read_flow_run(UUID(run_id))
        return dict(run.parameters or {})

    async def load_incident(self, channel_id: str) -> IncidentState | None:
        """The channel's incident state, or None when it has none (any other fault raises)."""
        return await afind_incident(channel_id, self.client)

    async def run_state(self, run_id: str | None) -> str | None:
        """The run's state type (e.g. "PAUSED"), or None if there is no such run (or no id)."""
        return await arun_state(self.client, run_id)

    async def _past_states(self, run_id: str) -> set[StateType]:
        return {s.type for s in await self.client.read_flow_run_states(UUID(run_id))}

    async def resume_archive(self, run_id: str, decision: str, decided_by: str) -> Resumed:
        """Resume a paused archive with the decision; tolerate a click that beats the pause,
        or that comes while a crashed run is being healed."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + _RESUME_WAIT_SECONDS
        while True:
            state = await self.run_state(run_id)
            if state == "PAUSED":
                try:
                    result = await self.client.resume_flow_run(
                        UUID(run_id), run_input={"decision": decision, "decided_by": decided_by})
                except PrefectHTTPStatusError as exc:
                    if exc.response.status_code != 409:
                        raise
                    # The run takes one input per wait: another click (on another replica,
                    # say) stored its decision between our read and our resume.
                    return Resumed.ALREADY_DECIDED
                if result.status == SetStateStatus.ACCEPT:
                    return Resumed.RESUMED
                # Rejected: someone resumed it between our read and our resume.
            elif state != "CRASHED" and run_is_final(state):
                return Resumed.ALREADY_DECIDED
            else:
                past = await self._past_states(run_id)
                if StateType.PAUSED in past:
                    # Paused before and not now: somebody else's click (or the timer) came first.
                    return Resumed.ALREADY_DECIDED
                if StateType.CRASHED in past:
                    # Killed before it ever waited (right after posting the buttons, say): the
                    # heal automation re-runs it, and the click is for the wait it comes back to.
                    deadline = started + _HEAL_WAIT_SECONDS
                if loop.time() >= deadline:
                    return Resumed.ALREADY_DECIDED
            await asyncio.sleep(0.5)
