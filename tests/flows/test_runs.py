"""Run facts and the heal automation, against the session's real Prefect API."""

from __future__ import annotations

from uuid import UUID

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import Crashed, Running, Scheduled

from tasks.runs import (
    HEAL_AUTOMATION,
    MAX_CRASHES,
    ZOMBIE_AUTOMATION,
    CrashLoop,
    ensure_heal_automation,
    ensure_zombie_automation,
    refuse_crash_loop,
    remove_scheduled_run,
    run_state,
    was_suspended,
    zombie_window_seconds,
)


@flow(name="irbot-test-crashy")
def _crashy() -> None:
    """Never run: only its runs' states are written by the test."""


def _run_with_crashes(crashes: int) -> str:
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(_crashy, state=Scheduled())
        for _ in range(crashes):
            client.set_flow_run_state(run.id, Running(), force=True)
            client.set_flow_run_state(run.id, Crashed(), force=True)
        client.set_flow_run_state(run.id, Running(), force=True)
        return str(run.id)


@pytest.mark.usefixtures("prefect_api")
def test_a_run_that_crashed_too_often_is_refused() -> None:
    refuse_crash_loop(_run_with_crashes(MAX_CRASHES - 1), MAX_CRASHES)  # still allowed
    with pytest.raises(CrashLoop, match=f"crashed {MAX_CRASHES} times"):
        refuse_crash_loop(_run_with_crashes(MAX_CRASHES), MAX_CRASHES + 1)


@pytest.mark.usefixtures("prefect_api")
def test_run_facts() -> None:
    run_id = _run_with_crashes(1)
    assert run_state(run_id) == "RUNNING"
    assert run_state("00000000-0000-0000-0000-000000000000") is None
    assert run_state("not-a-uuid") is None
    assert not was_suspended(run_id)


@pytest.mark.usefixtures("prefect_api")
def test_only_a_scheduled_run_is_removed() -> None:
    with get_client(sync_client=True) as client:
        waiting = client.create_flow_run(_crashy, state=Scheduled())
        started = client.create_flow_run(_crashy, state=Running())
    remove_scheduled_run(str(waiting.id))
    remove_scheduled_run(str(started.id))
    remove_scheduled_run(None)
    assert run_state(str(waiting.id)) is None
    assert run_state(str(started.id)) == "RUNNING"


@pytest.mark.usefixtures("prefect_api")
def test_heal_automation_is_created_once() -> None:
    ensure_heal_automation()
    ensure_heal_automation()
    with get_client(sync_client=True) as client:
        [automation] = client.read_automations_by_name(HEAL_AUTOMATION)
    assert automation.enabled
    assert automation.trigger.expect == {"prefect.flow-run.Crashed"}  # type: ignore[union-attr]
    [action] = automation.actions
    assert action.type == "change-flow-run-state" and action.state.value == "SCHEDULED"
    assert UUID(str(automation.id))


@pytest.mark.usefixtures("prefect_api")
def test_zombie_automation_is_created_once() -> None:
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 45}):
        assert zombie_window_seconds() == 2 * 45 + 30
    ensure_zombie_automation()
    ensure_zombie_automation()
    with get_client(sync_client=True) as client:
        [automation] = client.read_automations_by_name(ZOMBIE_AUTOMATION)
    trigger = automation.trigger
    assert trigger.posture == "Proactive"  # type: ignore[union-attr]
    assert trigger.after == {"prefect.flow-run.heartbeat"}  # type: ignore[union-attr]
    # Any event of the run, a Suspended one included, shows it is alive.
    assert trigger.expect == {"prefect.flow-run.*"}  # type: ignore[union-attr]
    assert trigger.for_each == {"prefect.resource.id"}  # type: ignore[union-attr]
    [action] = automation.actions
    assert action.type == "change-flow-run-state" and action.state.value == "CRASHED"
