"""Facts about Prefect runs that flows act on, and the automations that keep runs durable.

- A crashed run (its process killed: an OOM, a deploy, a host reboot) is re-run by the
  "heal" automation: it moves the run back to Scheduled, like the Prefect UI's Retry button,
  and every flow skips on the re-run what the crashed attempt had already done.
- A crash loop is bounded: a run that crashed `MAX_CRASHES` times fails instead of re-running.
- A run whose process vanished without a word stays Running, and nothing says Crashed: a
  process worker stopped with SIGTERM kills its flow-run processes and leaves their runs so.
  Flow runs send Prefect heartbeats (`PREFECT_FLOWS_HEARTBEAT_FREQUENCY`, default 180 s), and
  the "zombie" automation marks Crashed a deployment run that has gone quiet, which hands it
  to the heal automation.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.exceptions import ObjectNotFound

from tasks.deployments import (
    ARCHIVE,
    BACKUP,
    COMMANDER,
    CONTAIN,
    CREATE,
    HANDOVER,
    LIFT,
    PAGE,
    REMIND,
    SEVERITY,
    UPDATE,
    flow_of,
)

# The automations match runs of these flows only (not the schedule's: its next firing is soon).
# A re-run of a containment run repeats nothing: its posts and comments are keyed, and a
# repeated Falcon request first looks whether the host already moved (tasks/falcon.py).
FLOW_NAMES = tuple(flow_of(d) for d in (CREATE, BACKUP, ARCHIVE, PAGE, COMMANDER, SEVERITY,
                                        UPDATE, HANDOVER, REMIND, CONTAIN, LIFT))
HEAL_AUTOMATION = "irbot: re-run crashed runs"
ZOMBIE_AUTOMATION = "irbot: crash runs that stopped sending heartbeats"
MAX_CRASHES = 3
# Two heartbeats missed plus a margin for a loaded host: a late beat is not a dead process.
_MISSED_BEATS = 2
_BEAT_MARGIN_SECONDS = 30


class CrashLoop(RuntimeError):
    """This run crashed too often: re-running it again would likely crash again."""


def _state_type(run: FlowRun) -> str | None:
    return run.state.type.value if run.state else None


def run_state(run_id: str | None) -> str | None:
    """The run's state type (e.g. "PAUSED"), or None if there is no such run (or no id)."""
    if not run_id:
        return None
    with get_client(sync_client=True) as client:
        try:
            return _state_type(client.read_flow_run(UUID(run_id)))
        except (ObjectNotFound, ValueError):
            return None


async def arun_state(client: PrefectClient, run_id: str | None) -> str | None:
    """run_state for an event loop (the webhook), over the caller's client."""
    if not run_id:
        return None
    try:
        return _state_type(await client.read_flow_run(UUID(run_id)))
    except (ObjectNotFound, ValueError):
        return None


def past_state_types(run_id: str) -> list[StateType]:
    """Every state the run has been in, oldest first."""
    with get_client(sync_client=True) as client:
        return [s.type for s in client.read_flow_run_states(UUID(run_id))]


def was_suspended(run_id: str) -> bool:
    """True when the run has waited (Paused/Suspended) before: this is a re-run after it."""
    return StateType.PAUSED in past_state_types(run_id)


def refuse_crash_loop(run_id: str, run_count: int) -> None:
    """Fail, rather than run again, a run that already crashed MAX_CRASHES times."""
    if run_count <= 1:
        return  # a first attempt: nothing to count, no API call
    crashes = past_state_types(run_id).count(StateType.CRASHED)
    if crashes >= MAX_CRASHES:
        raise CrashLoop(f"This run crashed {crashes} times; irbot stops re-running it. "
                        "Its earlier attempts' logs say why; retry it from the Prefect UI "
                        "once the cause is fixed.")


def remove_scheduled_run(run_id: str | None) -> None:
    """Delete a run that has not started (a timer no longer needed).

    Deleted, not cancelled: a Cancelled event would wake the cancellation announcer for a
    run nobody cancelled. A run that has already started is left alone to finish by itself.
    """
    if not run_id:
        return
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(UUID(run_id))
        except ObjectNotFound:
            return
        if run.state is not None and run.state.type == StateType.SCHEDULED:
            try:
                client.delete_flow_run(UUID(run_id))
            except ObjectNotFound:
                pass


def ensure_heal_automation() -> None:
    """Create the automation that re-runs crashed irbot runs, unless it exists."""
    from prefect.automations import Automation
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture

    with get_client(sync_client=True) as client:
        if client.read_automations_by_name(HEAL_AUTOMATION):
            return
    Automation(
        name=HEAL_AUTOMATION,
        description="A crashed irbot run is scheduled again (up to "
                    f"{MAX_CRASHES} crashes); its flow skips the steps already done.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Crashed"},
            match_related={"prefect.resource.role": "flow",
                           "prefect.resource.name": list(FLOW_NAMES)},
            posture=Posture.Reactive, threshold=1),
        actions=[ChangeFlowRunState(state=StateType.SCHEDULED, name="AwaitingRetry",
                                    message="irbot: re-running a crashed run",
                                    force=False)],
    ).create()


def zombie_window_seconds() -> int:
    """How long a run may stay silent before it counts as crashed (from this process's
    heartbeat setting: run `python -m tasks.runs` with the workers' environment)."""
    from prefect.settings import get_current_settings

    beat = get_current_settings().flows.heartbeat_frequency or 180
    return _MISSED_BEATS * beat + _BEAT_MARGIN_SECONDS


def ensure_zombie_automation() -> None:
    """Create the automation that marks silent irbot runs Crashed, unless it exists."""
    from prefect.automations import Automation
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture

    with get_client(sync_client=True) as client:
        if client.read_automations_by_name(ZOMBIE_AUTOMATION):
            return
    window = zombie_window_seconds()
    Automation(
        name=ZOMBIE_AUTOMATION,
        description=f"An irbot run silent for {window} s after a heartbeat (its process is "
                    "gone) is marked Crashed, so the heal automation re-runs it.",
        trigger=EventTrigger(
            # Any event of the run (a beat, a state change such as Suspended or Completed)
            # shows it is not a zombie; only deployment runs, which a worker can re-run.
            after={"prefect.flow-run.heartbeat"}, expect={"prefect.flow-run.*"},
            match_related=[{"prefect.resource.role": "flow",
                            "prefect.resource.name": list(FLOW_NAMES)},
                           {"prefect.resource.role": "deployment"}],
            for_each={"prefect.resource.id"}, posture=Posture.Proactive, threshold=1,
            within=timedelta(seconds=window)),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, name="Crashed",
                                    message=f"irbot: no heartbeat for {window} s; the "
                                            "run's process is gone",
                                    force=False)],
    ).create()


if __name__ == "__main__":  # `python -m tasks.runs`: for the worker path (serve does it itself)
    ensure_heal_automation()
    ensure_zombie_automation()
    print(f"irbot: automations {HEAL_AUTOMATION!r} and {ZOMBIE_AUTOMATION!r} are in place")
