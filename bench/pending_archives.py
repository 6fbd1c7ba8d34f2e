"""100 pending archives: what they hold (processes, memory, run slots) and what they cost a create.

    python -m bench.pending_archives [--archives 100] [--samples 5]

The whole stack runs as `make demo` runs it (sandbox, Prefect server, `irbot serve` with
IRBOT_RUN_LIMIT=20 and a one-hour archive delay). The incidents are made as flows/create.py
leaves them (bench.backup_cost.open_incident: a create run per incident would cost this 2-core
machine minutes of CPU); each archive is a signed `/irbot archive` typed in its channel, as a
responder would. Create latency (modal submission → channel described, bench.create_latency)
is sampled with no archive pending, with all of them pending, and with none again (the paused
runs and their timers deleted through the Prefect API), so that drift in the machine's load
falls on both sides. A first burst of IRBOT_RUN_LIMIT archives, removed before "before", lets
the server's heap reach a burst's high-water mark outside the memory comparison.
Results: bench/results/pending_archives.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import psutil

from bench.backup_cost import open_incident
from bench.common import REPO_ROOT, machine_info, table, workdir, write_results
from bench.create_latency import one_incident
from sandbox.driver import SlackDriver, wait_for
from sandbox.stack import SIGNING_SECRET, LocalStack
from webhook.local_prefect import free_port

RUN_LIMIT = 20
ARCHIVE_DELAY_SECONDS = 3600
SEND_INTERVAL_S = 0.1  # ten `/irbot archive` a second: a busy afternoon, not a flood
ALL_PAUSED_TIMEOUT_S = 1800.0  # 100 flow processes, 20 at a time: ~2 min quiet, 15+ shared
SETTLE_S = 2.0  # after the last flow process exits and the server is quiet
QUIET_SERVER_CPU_PERCENT = 10.0
QUIET_SERVER_WAIT_S = 120.0  # then measure anyway: other people's load can keep it busy
# A run in these states holds one of the runner's slots (it was picked up, its process lives).
SLOT_STATES = ("PENDING", "RUNNING", "CANCELLING")


def processes(stack: LocalStack) -> list[psutil.Process]:
    """Every process of the stack but the sandbox: the Prefect server, `irbot serve` and all
    they started (runner, webhook, flow runs)."""
    found: list[psutil.Process] = []
    for pid in stack.pids:
        try:
            root = psutil.Process(pid)
            found += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return found


def flow_processes(stack: LocalStack) -> list[psutil.Process]:
    """Flow-run processes: whatever the runner (`python -m flows.runner`) has started."""
    for proc in processes(stack):
        try:
            if "flows.runner" in " ".join(proc.cmdline()):
                return list(proc.children(recursive=True))
        except psutil.NoSuchProcess:
            continue
    raise RuntimeError("irbot serve has no runner")


def role(proc: psutil.Process, flow_pids: set[int]) -> str:
    """What a process is, for the memory table."""
    if proc.pid in flow_pids:
        return "flow runs"
    line = " ".join(proc.cmdline())
    for needle, name in (("prefect server", "prefect server"), ("flows.runner", "runner"),
                         ("uvicorn", "webhook"), ("irbot serve", "irbot serve")):
        if needle in line:
            return name
    return "other"


def footprint(stack: LocalStack) -> dict[str, Any]:
    """Processes and resident memory of the stack (RSS summed; shared pages count in each)."""
    flow_pids = {p.pid for p in flow_processes(stack)}
    by_role: dict[str, float] = {}
    count = 0
    for proc in processes(stack):
        try:
            mb = proc.memory_info().rss / 2**20
            name = role(proc, flow_pids)
        except psutil.NoSuchProcess:
            continue
        by_role[name] = by_role.get(name, 0.0) + mb
        count += 1
    return {"processes": count, "flow_run_processes": len(flow_pids),
            "rss_mb": round(sum(by_role.values()), 1),
            "rss_mb_by_role": {k: round(v, 1) for k, v in sorted(by_role.items())}}


def by_state(*states: str) -> Any:
    """A flow-run filter on state types (Prefect imported late: it reads PREFECT_API_URL once)."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    return FlowRunFilter(state=FlowRunFilterState(
        type=FlowRunFilterStateType(any_=[StateType(s) for s in states])))


def count_runs(states: tuple[str, ...]) -> int:
    from prefect.client.orchestration import get_client

    # Prefect's client, not bare HTTP: it waits out the 503s of a busy SQLite server.
    with get_client(sync_client=True) as client:
        return client.count_flow_runs(flow_run_filter=by_state(*states))


def run_ids(state: str) -> list[Any]:
    """Ids of every flow run in `state` (paged: the API answers 200 at most)."""
    from prefect.client.orchestration import get_client

    ids: list[Any] = []
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_flow_runs(flow_run_filter=by_state(state), limit=200,
                                         offset=len(ids))
            ids += [run.id for run in page]
            if len(page) < 200:
                return ids


def server_busy(stack: LocalStack) -> bool:
    """The Prefect server used more than a tenth of a core over the last second."""
    server = next(p for p in processes(stack) if role(p, set()) == "prefect server")
    return server.cpu_percent(interval=1.0) > QUIET_SERVER_CPU_PERCENT


def settle(stack: LocalStack, timeout: float = 60.0) -> None:
    """No flow process left, and the Prefect server done with what they left it (after a burst
    of runs it writes their events for a while): a sample starts on a quiet stack."""
    wait_for(lambda: not flow_processes(stack), timeout, 0.2, "flow-run processes to exit")
    deadline = time.monotonic() + QUIET_SERVER_WAIT_S
    while server_busy(stack) and time.monotonic() < deadline:
        pass
    time.sleep(SETTLE_S)


def announced(sb: Any, channel: str) -> int:
    """Archive announcements in the channel (irbot's posts that carry buttons)."""
    return sum(1 for m in sb.messages(channel)
               if any(b.get("type") == "actions" for b in m.get("blocks") or []))


class Creates:
    """Create-latency samples, numbered across phases (each create needs its own title)."""

    def __init__(self, driver: SlackDriver, stack: LocalStack, people: dict[str, str]) -> None:
        self.driver, self.stack, self.people = driver, stack, people
        self.made = 0

    def sample(self, count: int) -> dict[str, Any]:
        ready: list[float] = []
        load = os.getloadavg()[0]
        for _ in range(count):
            settle(self.stack)
            self.made += 1
            ready.append(one_incident(self.driver, self.stack, self.people["alice"],
                                      self.people["origin"], self.people["bob"], self.made)[0])
        out = {"samples_s": [round(x, 3) for x in ready],
               "median_s": round(statistics.median(ready), 3),
               "loadavg_1min_at_start": round(load, 2)}
        print(f"creates: {out}", flush=True)
        return out


def start_archives(driver: SlackDriver, sb: Any, incidents: list[tuple[str, str]],
                   alice: str) -> float:
    """`/irbot archive` in every incident channel; seconds until every run waits, announced,
    with no flow process left."""
    started = time.monotonic()
    for key, channel in incidents:
        reply = driver.command("archive", alice, channel, f"incident_channel_{key.lower()}")
        if reply.status != 200:
            raise RuntimeError(f"/irbot archive answered {reply.status}: {reply.body}")
        time.sleep(SEND_INTERVAL_S)
    wanted = len(incidents)

    def all_waiting() -> bool:
        # A failed archive never waits: say so now rather than at the timeout.
        failed = count_runs(("FAILED", "CRASHED"))
        if failed:
            raise RuntimeError(f"{failed} runs failed or crashed: see the serve log")
        return count_runs(("PAUSED",)) >= wanted and all(
            announced(sb, ch) for _, ch in incidents)

    wait_for(all_waiting, ALL_PAUSED_TIMEOUT_S, 1.0, f"{wanted} archives to wait")
    return time.monotonic() - started


def delete_pending() -> int:
    """Remove the paused archive runs and their deadline timers, so that "none pending" can
    be sampled again on the same stack (no responder does this; Cancel would run each)."""
    from prefect.client.orchestration import get_client

    ids = run_ids("PAUSED") + run_ids("SCHEDULED")
    with get_client(sync_client=True) as client:
        for run_id in ids:
            client.delete_flow_run(run_id)
    return len(ids)


def held(stack: LocalStack, label: str) -> dict[str, Any]:
    """What the stack holds right now, processes and memory and Prefect's view of the runs."""
    out = {**footprint(stack), "runs_paused": count_runs(("PAUSED",)),
           "runs_scheduled": count_runs(("SCHEDULED",)),
           "runs_holding_a_slot": count_runs(SLOT_STATES),
           "loadavg_1min": round(os.getloadavg()[0], 2)}
    print(f"{label}: {out}", flush=True)
    return out


def measure(stack: LocalStack, archives: int, samples: int) -> dict[str, Any]:
    sb = stack.sandbox
    os.environ["PREFECT_API_URL"] = f"{stack.prefect_url}/api"  # before prefect is imported
    alice, bob = sb.add_user("alice"), sb.add_user("bob")
    people = {"alice": alice, "bob": bob,
              "origin": sb.add_channel("security", members=[alice, bob])}
    driver = SlackDriver(stack.webhook_url, SIGNING_SECRET, sb)
    creates = Creates(driver, stack, people)
    try:
        creates.sample(1)  # warm-up: first imports, DB pages
        # A first burst of archives, as many as run at once, then removed: the server's heap
        # grows to a burst's high-water mark once, and "before" should not count that growth
        # as something the pending archives hold.
        warm = [open_incident(sb, [alice, bob], 0, f"Warm-up archive {n}")
                for n in range(RUN_LIMIT)]
        start_archives(driver, sb, warm, alice)
        settle(stack)
        delete_pending()
        t0 = time.monotonic()
        incidents = [open_incident(sb, [alice, bob], 0, f"Pending archive {n}")
                     for n in range(archives)]
        made_s = time.monotonic() - t0
        none_before = creates.sample(samples)
        settle(stack)
        before = held(stack, "before")
        all_waiting_s = start_archives(driver, sb, incidents, alice)
        settle(stack)
        pending = held(stack, "pending")
        with_pending = creates.sample(2 * samples)
        settle(stack)
        pending_after = held(stack, "pending, after the creates")
        deleted = delete_pending()
        settle(stack)
        released = held(stack, "none pending again")
        none_after = creates.sample(samples)
    finally:
        driver.close()
    none = none_before["samples_s"] + none_after["samples_s"]
    return {
        "incidents_made_s": round(made_s, 1), "all_waiting_s": round(all_waiting_s, 1),
        "before": before, "pending": pending, "pending_after_creates": pending_after,
        "none_pending_again": released,
        "extra_rss_mb": round(pending["rss_mb"] - before["rss_mb"], 1),
        "extra_processes": pending["processes"] - before["processes"],
        "create_none_before": none_before, "create_pending": with_pending,
        "create_none_after": none_after, "deleted_runs": deleted,
        "create_none_median_s": round(statistics.median(none), 3),
        "create_pending_median_s": with_pending["median_s"],
        "create_ratio": round(with_pending["median_s"] / statistics.median(none), 3),
    }


def report(r: dict[str, Any], archives: int) -> None:
    b, p, a = r["before"], r["pending"], r["none_pending_again"]
    print(table(["", "before", f"{archives} pending", "none again", "goal"], [
        ["flow-run processes", b["flow_run_processes"], p["flow_run_processes"],
         a["flow_run_processes"], "0"],
        ["processes (server, serve, children)", b["processes"], p["processes"], a["processes"],
         ""],
        ["RSS MB, all of them", b["rss_mb"], p["rss_mb"], a["rss_mb"],
         f"< +50 ({r['extra_rss_mb']:+})"],
        ["runs holding a run slot", b["runs_holding_a_slot"], p["runs_holding_a_slot"],
         a["runs_holding_a_slot"], "0"],
        ["runs paused / timers scheduled", f"{b['runs_paused']} / {b['runs_scheduled']}",
         f"{p['runs_paused']} / {p['runs_scheduled']}",
         f"{a['runs_paused']} / {a['runs_scheduled']}", ""],
    ]))
    print("\nRSS MB by process:", {k: f"{b['rss_mb_by_role'].get(k, 0)} → {v}"
                                   for k, v in p["rss_mb_by_role"].items()})
    print()
    print(table(["create latency", "median s", "samples s", "load 1 min"], [
        [name, r[key]["median_s"], " ".join(f"{x:.2f}" for x in r[key]["samples_s"]),
         r[key]["loadavg_1min_at_start"]]
        for name, key in (("none pending (before)", "create_none_before"),
                          (f"{archives} pending", "create_pending"),
                          ("none pending (after)", "create_none_after"))]))
    print(f"\npending vs none: {r['create_pending_median_s']} s / {r['create_none_median_s']} s "
          f"= {r['create_ratio']}x (goal <= 1.1); the {archives} archives waited "
          f"{r['all_waiting_s']} s after the first command")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pending_archives", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archives", type=int, default=100)
    parser.add_argument("--samples", type=int, default=5,
                        help="creates per phase with none pending (twice as many pending)")
    args = parser.parse_args(argv)
    info, started = machine_info(), time.monotonic()
    os.environ.update({"IRBOT_RUN_LIMIT": str(RUN_LIMIT), "PREFECT_LOGGING_LEVEL": "WARNING"})
    with workdir("irbot-bench-pending-") as work:
        os.environ["PREFECT_HOME"] = str(work.path / "client")
        with LocalStack(Path(work.path / "stack"), archive_delay=ARCHIVE_DELAY_SECONDS,
                        prefect_port=free_port()) as stack:
            result = measure(stack, args.archives, args.samples)
        report(result, args.archives)
        path = write_results("pending_archives", {
            "benchmark": "pending_archives", "machine": info,
            "config": {**vars(args), "IRBOT_RUN_LIMIT": RUN_LIMIT,
                       "IRBOT_ARCHIVE_DELAY_SECONDS": ARCHIVE_DELAY_SECONDS},
            "result": result, "wall_s": round(time.monotonic() - started, 1)})
    print(f"Results: {path.relative_to(REPO_ROOT)} ({time.monotonic() - started:.0f} s)")
    p = result["pending"]
    met = (p["flow_run_processes"] == 0 and p["runs_holding_a_slot"] == 0
           and result["extra_rss_mb"] < 50 and result["create_ratio"] <= 1.1)
    print("goals met" if met else "goals NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
