"""One backup in a process of its own, as the runner runs every flow run: its cost, as JSON.

    python -m bench.backup_run <channel_id> [--tracemalloc]

Needs irbot's settings and PREFECT_API_URL in the environment (bench.backup_cost sets them).
A process per run isolates peak memory: ru_maxrss never goes down, so two backups in one
process would report the larger of the two. Prints one line starting with RESULT_MARKER.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import sys
import time
import tracemalloc
from typing import Any

RESULT_MARKER = "BACKUP_RUN_RESULT "
# Task runs reach the API through Prefect's event pipeline, a little after the flow returns.
TASK_RUNS_WAIT_S = 10.0


def peak_rss_mb() -> float:
    """High-water resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def task_seconds(flow_run_id: Any) -> dict[str, float]:
    """Wall seconds per task name (summed over calls), read back from the Prefect API: where
    the flow's time went, without touching the flow's code."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    runs: list[Any] = []
    deadline = time.monotonic() + TASK_RUNS_WAIT_S
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[flow_run_id])))
            if runs and all(r.start_time and r.end_time for r in runs):
                break
            time.sleep(0.25)
    spent: dict[str, float] = {}
    for run in runs:
        if run.start_time and run.end_time:
            name = run.name.rsplit("-", 1)[0]  # "slack-post-a1b" → "slack-post"
            spent[name] = spent.get(name, 0.0) + (run.end_time - run.start_time).total_seconds()
    return dict(sorted(spent.items(), key=lambda kv: -kv[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backup_run")
    parser.add_argument("channel_id")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also report Python's own allocation peak (slows the run down)")
    parser.add_argument("--profile", metavar="FILE",
                        help="write cProfile stats of the flow call to FILE (for digging)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from flows.backup import backup_incident  # imported here: its cost is measured

    out: dict[str, Any] = {"import_s": time.perf_counter() - started,
                           "rss_after_import_mb": peak_rss_mb()}
    if args.tracemalloc:
        tracemalloc.start()
    t0, cpu0 = time.perf_counter(), time.process_time()
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    state = backup_incident(args.channel_id, return_state=True)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    out["flow_wall_s"] = time.perf_counter() - t0
    # CPU of the whole process (Prefect's threads too) during the flow: on a shared machine
    # it moves much less with other people's load than the wall time does.
    out["flow_cpu_s"] = time.process_time() - cpu0
    out["peak_rss_mb"] = peak_rss_mb()
    out["cpu_s"] = time.process_time()
    if args.tracemalloc:
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    try:
        result = state.result()
        out["result"] = {k: v for k, v in result.items() if k != "sha256"}
    except Exception as exc:  # reported to the parent; the table shows it
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["task_s"] = task_seconds(state.state_details.flow_run_id)
    print(RESULT_MARKER + json.dumps(out), flush=True)
    return 1 if "error" in out else 0


if __name__ == "__main__":
    sys.exit(main())
