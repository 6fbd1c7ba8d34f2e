"""What the scale-out tests do to `irbot topology` (sandbox/topology.py) and read off it: the
flow-run processes a worker holds, a worker host lost.

Not a test module: imported by test_topology.py.
"""

from __future__ import annotations

import time

import psutil

from sandbox.topology import alive_only


def run_processes(worker: psutil.Process) -> dict[int, str]:
    """A worker's flow-run processes, pid → the run each is for (its PREFECT__FLOW_RUN_ID)."""
    held = {}
    for child in alive_only(worker.children(recursive=True)):
        try:
            run = child.environ().get("PREFECT__FLOW_RUN_ID")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if run:
            held[child.pid] = run
    return held


def flow_runs_held(worker: psutil.Process) -> set[str]:
    """The runs a worker's flow-run processes are running."""
    return set(run_processes(worker).values())


def kill_host(worker: psutil.Process) -> list[int]:
    """SIGKILL a worker and every process under it at once, as a lost host: nobody tells
    Prefect anything. The pids killed."""
    victims = [worker, *worker.children(recursive=True)]
    for proc in victims:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=10)
    return [proc.pid for proc in victims]


def gone(pids: list[int]) -> bool:
    """None of these processes runs any more (a zombie awaiting its parent counts as gone)."""
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


def wait_stopped(pids: list[int], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not gone(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
