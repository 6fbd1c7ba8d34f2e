"""Which process runs which flow run under `irbot serve`'s runner; Prefect run look-ups.

A crash fault scoped to one process (`from_pid`) counts that flow run's outside calls only, so
cases can run side by side on separate incidents. The runner starts each flow run as
`python -m prefect.engine` with PREFECT__FLOW_RUN_ID in its environment, and the process makes
its first outside call only after importing Prefect (a second or more): time enough to find it
and put the fault in place. A crashed run's re-run is a new process with the same run id.
Prefect is imported lazily: the caller points PREFECT_API_URL at the stack first.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psutil

from sandbox.crash import CrashRecord
from sandbox.driver import wait_for
from sandbox.local import Sandbox

SPAWN_TIMEOUT = 90.0  # the runner's 1 s poll + a run's hand-off, on a loaded machine
CRASH_TIMEOUT = 120.0  # a process's start-up (~1-3 s, much more when busy) and k calls
# A fault that never comes due: it counts a process's outside calls (calibration).
NEVER = 1_000_000


class FlowProcesses:
    """The flow-run processes of the runner under `irbot serve`."""

    def __init__(self, serve_pid: int) -> None:
        self.runner = next(c for c in psutil.Process(serve_pid).children()
                           if "flows.runner" in " ".join(c.cmdline()))

    def of_run(self, run_id: str) -> set[int]:
        """Live processes running this flow run (a dead one may linger as a zombie)."""
        found = set()
        for child in self.runner.children():
            try:
                if (child.status() != psutil.STATUS_ZOMBIE
                        and child.environ().get("PREFECT__FLOW_RUN_ID") == run_id):
                    found.add(child.pid)
            except psutil.Error:  # ended meanwhile
                continue
        return found

    def new_process(self, run_id: str, old: set[int], timeout: float = SPAWN_TIMEOUT) -> int:
        """The process the runner starts for `run_id`, other than `old` ones."""
        return wait_for(lambda: min(self.of_run(run_id) - old, default=None), timeout=timeout,
                        interval=0.03, what=f"a process for run {run_id}")


def wait_crash(sb: Sandbox, pid: int, timeout: float = CRASH_TIMEOUT) -> CrashRecord | None:
    """The crash fault that went off in `pid`; None if the process ended without one (its
    flow made fewer calls than the fault counts to)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = next((c for c in sb.crashes() if c.pid == pid), None)
        if record is not None:
            return record
        if ended(pid):
            # The sandbox records a kill just after it sends the signal: give it a moment.
            time.sleep(1)
            return next((c for c in sb.crashes() if c.pid == pid), None)
        time.sleep(0.03)
    raise TimeoutError(f"no crash in process {pid} after {timeout:.0f} s")


def ended(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def age(pid: int) -> float:
    """Seconds since the process started, to 10 ms (psutil's create_time is off by up to
    1 s: it adds the boot time, which Linux gives in whole seconds)."""
    with open(f"/proc/{pid}/stat") as f:
        started = int(f.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime") as f:
        return float(f.read().split()[0]) - started


def calls_counted(sb: Sandbox, pid: int) -> int:
    """How many outside calls the never-due fault scoped to `pid` has counted."""
    return next(f.seen for f in sb.pending_crashes() if f.from_pid == pid)


def newest_run(flow: str, since: float, **params: Any) -> Any:
    """The newest run of `flow` created after `since` (time.time()) with these parameters."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    # Runs started now are expected to start now: the filter keeps the answer small.
    recent = FlowRunFilter(expected_start_time=FlowRunFilterExpectedStartTime.model_validate(
        {"after_": datetime.fromtimestamp(since, UTC) - timedelta(seconds=5)}))
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow])),
                                     flow_run_filter=recent,
                                     sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=50)
    return next((r for r in runs if r.created and r.created.timestamp() >= since - 1
                 and all(r.parameters.get(k) == v for k, v in params.items())), None)


def run_history(run_id: UUID) -> tuple[str | None, list[str]]:
    """(the run's state type now, every state type it went through)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        states = [s.type.value for s in client.read_flow_run_states(run_id)]
    return (run.state.type.value if run.state else None), states


def wait_state(run_id: str | None, wanted: str, timeout: float) -> None:
    """Poll the run until its state type is `wanted` (e.g. PAUSED: waiting for a decision)."""
    assert run_id is not None
    wait_for(lambda: run_history(UUID(run_id))[0] == wanted, timeout=timeout, interval=0.5,
             what=f"run {run_id} to be {wanted}")
