"""Hand-off to Prefect: start deployment runs and resume paused ones."""

from __future__ import annotations

import asyncio
import enum
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.deployments.flow_runs import arun_deployment
from prefect.exceptions import FlowPauseTimeout, NotPausedError, ObjectNotFound
from prefect.flow_runs import aresume_flow_run

CREATE = "create-incident/create"
BACKUP = "backup-incident/backup"
ARCHIVE = "archive-incident/archive"
PAGE = "page-team/page"

# The announcement's buttons exist only once the flow is about to pause: wait that long for it.
_RESUME_WAIT_SECONDS = 8.0
_FINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED", "CANCELLING"}


async def start_run(deployment: str, parameters: dict[str, Any], idempotency_key: str) -> str:
    """Create a run without waiting; a repeated key returns the same run (Slack retries)."""
    run = await arun_deployment(deployment, parameters=parameters, timeout=0,
                               idempotency_key=idempotency_key)
    return str(run.id)


async def run_state(run_id: str) -> str | None:
    """The run's state type (e.g. "PAUSED"), or None if there is no such run."""
    async with get_client() as client:
        try:
            run = await client.read_flow_run(UUID(run_id))
        except (ObjectNotFound, ValueError):
            return None
    return run.state.type.value if run.state else None


async def _was_paused(run_id: str) -> bool:
    async with get_client() as client:
        states = await client.read_flow_run_states(UUID(run_id))
    return any(s.type.value == "PAUSED" for s in states)


def is_final(state: str | None) -> bool:
    """True once a run will do nothing more."""
    return state is None or state in _FINAL


class Resumed(enum.Enum):
    """What became of a button click."""

    RESUMED = "resumed"
    ALREADY_DECIDED = "already_decided"


async def resume_archive(run_id: str, decision: str, decided_by: str) -> Resumed:
    """Resume a paused archive with the decision; tolerate a click that beats the pause."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _RESUME_WAIT_SECONDS
    while True:
        state = await run_state(run_id)
        if is_final(state):
            return Resumed.ALREADY_DECIDED
        if state == "PAUSED":
            try:
                await aresume_flow_run(UUID(run_id),
                                       run_input={"decision": decision, "decided_by": decided_by})
                return Resumed.RESUMED
            except (NotPausedError, FlowPauseTimeout, RuntimeError):
                pass  # someone resumed it between our read and our resume
        elif await _was_paused(run_id) or loop.time() >= deadline:
            # Paused before and running now: somebody else's click (or the timer) came first.
            return Resumed.ALREADY_DECIDED
        await asyncio.sleep(0.5)
