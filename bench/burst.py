"""What one create and one backup cost, every process together, and a burst: N incidents
submitted at once, then N backups at once. Two sides, one after the other in one run, on this
machine: the embedded default (`irbot serve`, Prefect on SQLite) and the path beyond one
machine (`irbot topology`: Prefect on the local PostgreSQL, 2 workers, 2 webhook replicas, the
requests alternating between them).

    python -m bench.burst [--incidents 50] [--messages 20] [--samples 5] [--sides sqlite postgres]

CPU is read from /proc (psutil) for every process of the side: the Prefect server, PostgreSQL
(all its processes), the webhook(s), the runner or workers, and the flow-run processes (once
reaped, in their parent's children times). The sandbox (Slack, Jira) runs in this process and
is not counted: it is the vendors. Each side's idle rate (timers, polls) is measured first and
subtracted. The floor is a bare interpreter importing Prefect, measured in the same run.
Results: bench/results/burst.json.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import psutil

from bench.backup_cost import transcript
from bench.common import machine_info, percentile, table, write_results
from sandbox.driver import SlackDriver, conversation, form_values, wait_for
from sandbox.local import Sandbox
from sandbox.stack import SIGNING_SECRET, LocalStack, irbot_settings, private_prefect_env
from sandbox.topology import TopologyProcess, cmdline_of
from tasks.slack_scopes import BOT_SCOPES

POSTGRES_SERVER = os.environ.get("IRBOT_TEST_POSTGRES",
                                 "postgresql+asyncpg://postgres@127.0.0.1:5432").rstrip("/")
ARCHIVE_DELAY_S = 3600  # nothing here archives
IDLE_WINDOW_S = 15.0
SETTLE_S = 6.0  # after a run's process exits: the server records its last events
BURST_TIMEOUT_S = 1200.0
SINGLE_TIMEOUT_S = 120.0  # one create or one backup on a quiet stack
CATEGORIES = ("flow runs", "runner/workers", "webhooks", "prefect server", "postgresql", "other")


# --- CPU accounting -------------------------------------------------------------------------

@dataclass
class Side:
    name: str
    roots: Callable[[], list[int]]  # the side's own processes (their trees are walked)
    webhooks: list[str]
    postgres: bool
    sandbox: Sandbox


def _category(proc: psutil.Process) -> str:
    line = cmdline_of(proc)
    if proc.name() == "postgres" or "postgres:" in line:
        return "postgresql"
    if "prefect_sqlite" in line or "server start" in line:
        return "prefect server"
    if "flows.runner" in line or "worker start" in line:
        return "runner/workers"
    if "webhook.app" in line or " serve" in line:
        return "webhooks"
    return "other"


def _processes(side: Side) -> list[psutil.Process]:
    found: list[psutil.Process] = []
    for pid in side.roots():
        try:
            root = psutil.Process(pid)
            found += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    if side.postgres:
        found += [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
    return found


Snapshot = dict[int, tuple[str, float, float, str]]  # pid → (category, own, reaped, parent's)


def snapshot(side: Side) -> Snapshot:
    """Every process's own CPU and its reaped children's. A flow-run process is a child of
    the runner or a worker: its CPU counts as "flow runs", alive or reaped."""
    snap: Snapshot = {}
    for proc in _processes(side):
        try:
            times = proc.cpu_times()
            category = _category(proc)
            parent = proc.parent()
            parent_category = _category(parent) if parent is not None else ""
        except psutil.Error:
            continue
        if parent_category == "runner/workers" and category == "other":
            category = "flow runs"
        reaped_as = "flow runs" if category == "runner/workers" else category
        snap[proc.pid] = (category, times.user + times.system,
                          times.children_user + times.children_system, reaped_as)
    return snap


def cpu_between(before: Snapshot, after: Snapshot) -> dict[str, float]:
    used = dict.fromkeys(CATEGORIES, 0.0)
    for pid, (category, own, reaped, reaped_as) in after.items():
        _, own0, reaped0, _ = before.get(pid, (category, 0.0, 0.0, reaped_as))
        used[category] += own - own0
        used[reaped_as] += reaped - reaped0
    return used


def minus_idle(used: dict[str, float], idle: dict[str, float], seconds: float) -> dict[str, float]:
    return {k: max(0.0, used[k] - idle[k] * seconds) for k in used}


def idle_rate(side: Side) -> dict[str, float]:
    """CPU-s per second of the side doing nothing (timers, polls, heartbeats)."""
    before = snapshot(side)
    time.sleep(IDLE_WINDOW_S)
    return {k: v / IDLE_WINDOW_S for k, v in cpu_between(before, snapshot(side)).items()}


def cpu_of(side: Side, idle: dict[str, float], work: Callable[[], None],
           timeout: float = BURST_TIMEOUT_S, settle: float = 0.0) -> dict[str, float]:
    """CPU-s of every process of the side while `work` runs and until its flow-run processes
    have exited (and `settle` s more), less the idle rate over that time."""
    before, started = snapshot(side), time.perf_counter()
    work()
    wait_flows_done(side, timeout)
    time.sleep(settle)
    return minus_idle(cpu_between(before, snapshot(side)), idle, time.perf_counter() - started)


def flow_processes(side: Side) -> list[psutil.Process]:
    found = []
    for proc in _processes(side):
        try:
            parent = proc.parent()
            if (proc.status() != psutil.STATUS_ZOMBIE and parent is not None
                    and _category(parent) == "runner/workers"):
                found.append(proc)
        except psutil.Error:
            continue  # gone meanwhile
    return found


def wait_flows_done(side: Side, timeout: float = BURST_TIMEOUT_S) -> None:
    wait_for(lambda: not flow_processes(side), timeout, 0.2, "the flow-run processes to exit")


def bare_cpu(code: str, times: int = 3) -> float:
    """Median CPU-s of a fresh interpreter running `code`, this process's children's rusage
    (run before anything else is started, so no other child of ours is reaped meanwhile)."""
    samples = []
    for _ in range(times):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", code], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(samples)


# --- driving Slack ----------------------------------------------------------------------------

@dataclass
class Incident:
    title: str
    submitted: float = 0.0
    key: str = ""
    ready: float = 0.0
    told: float = 0.0
    channel: str = ""
    backup_sent: float = 0.0
    backed_up: float = 0.0
    exact: bool = False
    problems: list[str] = field(default_factory=list)


def open_modals(drivers: list[SlackDriver], sb: Sandbox, user: str, origin: str, invitee: str,
                titles: list[str]) -> list[tuple[SlackDriver, dict[str, Any], dict[str, Any]]]:
    """The create modal opened once per incident, before the clock starts."""
    opened = []
    for n, title in enumerate(titles):
        driver = drivers[n % len(drivers)]
        reply = driver.command("create", user, origin, "security")
        view = driver.opened_view(reply.trigger_id)
        values = form_values(view, {"people": [invitee], "title": title, "severity": "SEV-3",
                                    "new_case": True})
        opened.append((driver, view, values))
    return opened


def watch_creates(sb: Sandbox, incidents: list[Incident], timeout: float) -> None:
    """Poll the sandbox until every incident's channel is described and its requester told."""
    deadline = time.perf_counter() + timeout
    by_title = {i.title: i for i in incidents}
    while time.perf_counter() < deadline:
        now = time.perf_counter()
        for issue in sb.jira_issues():
            inc = by_title.get(issue["summary"])
            if inc is not None and not inc.key:
                inc.key = issue["key"]
        for inc in incidents:
            if inc.key and not inc.ready:
                channel = sb.channel_by_name(f"incident_channel_{inc.key.lower()}")
                if channel and inc.key in (channel.get("topic") or ""):
                    inc.ready, inc.channel = now, channel["id"]
        said = [str(e.get("text")) for e in sb.ephemerals]
        for inc in incidents:
            if inc.key and not inc.told and any(f"{inc.key} is ready" in t for t in said):
                inc.told = now
        if all(i.told and i.ready for i in incidents):
            return
        time.sleep(0.2)
    for inc in incidents:
        if not (inc.ready and inc.told):
            inc.problems.append("not ready and told in time")


def backup_exact(sb: Sandbox, inc: Incident) -> bool | None:
    """None while no transcript is on the case; then whether it holds the conversation, each
    message once."""
    files, frame, _ = transcript(sb, inc.key)
    if frame is None:
        return None
    stored = list(frame["ts"])
    wanted = set(conversation(sb, inc.channel))
    return files == 1 and len(stored) == len(set(stored)) and set(stored) == wanted


def submit_all(opened: list[tuple[SlackDriver, dict[str, Any], dict[str, Any]]],
               incidents: list[Incident], user: str) -> None:
    """Every modal submitted at once, each from a thread of its own (as many people would)."""
    start = threading.Barrier(len(opened))

    def one(n: int) -> None:
        driver, view, values = opened[n]
        start.wait()
        incidents[n].submitted = time.perf_counter()
        reply = driver.submit(view, values, user)
        if reply.status != 200:
            incidents[n].problems.append(f"submission answered {reply.status}")

    with ThreadPoolExecutor(len(opened)) as pool:
        list(pool.map(one, range(len(opened))))


def fill_channel(sb: Sandbox, channel: str, people: list[str], messages: int, tag: str) -> None:
    for n in range(messages):
        sb.post_message(channel, people[n % len(people)], f"{tag} note {n}: checked host-{n}")


def back_up_all(drivers: list[SlackDriver], incidents: list[Incident], user: str) -> None:
    """`/irbot backup` typed in every incident channel at once."""
    start = threading.Barrier(len(incidents))

    def one(n: int) -> None:
        inc = incidents[n]
        start.wait()
        inc.backup_sent = time.perf_counter()
        reply = drivers[n % len(drivers)].command("backup", user, inc.channel, "incident")
        if reply.status != 200:
            inc.problems.append(f"backup command answered {reply.status}")

    with ThreadPoolExecutor(len(incidents)) as pool:
        list(pool.map(one, range(len(incidents))))


def watch_backups(sb: Sandbox, incidents: list[Incident], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        for inc in incidents:
            if not inc.backed_up:
                exact = backup_exact(sb, inc)
                if exact is not None:
                    inc.backed_up, inc.exact = time.perf_counter(), exact
        if all(i.backed_up for i in incidents):
            return
        time.sleep(0.25)
    for inc in incidents:
        if not inc.backed_up:
            inc.problems.append("no transcript in time")


# --- one side ---------------------------------------------------------------------------------

@dataclass
class People:
    requester: str
    invitee: str
    origin: str


def people_of(sb: Sandbox) -> People:
    alice, bob = sb.add_user("alice"), sb.add_user("bob")
    return People(alice, bob, sb.add_channel("security", members=[alice, bob]))


def create_and_watch(side: Side, opened: list[tuple[SlackDriver, dict[str, Any], dict[str, Any]]],
               incidents: list[Incident], who: People, timeout: float) -> None:
    """Submit the opened modals at once; wait until each incident is ready and told."""
    submit_all(opened, incidents, who.requester)
    watch_creates(side.sandbox, incidents, timeout)


def back_up_and_watch(side: Side, drivers: list[SlackDriver], incidents: list[Incident],
                      who: People, timeout: float) -> None:
    """`/irbot backup` in every channel at once; wait until each transcript is on its case."""
    back_up_all(drivers, incidents, who.requester)
    watch_backups(side.sandbox, incidents, timeout)


def single_runs(side: Side, drivers: list[SlackDriver], who: People, samples: int,
                messages: int, idle: dict[str, float]) -> dict[str, Any]:
    """One create at a time, then one backup at a time: CPU-s each, every process together."""
    creates, backups = [], []
    for n in range(samples + 1):  # the first of each is a warm-up (first imports, DB pages)
        inc = Incident(f"Single {side.name} {n}")
        opened = open_modals(drivers, side.sandbox, who.requester, who.origin, who.invitee,
                             [inc.title])
        create_cpu = cpu_of(side, idle, partial(create_and_watch, side, opened, [inc], who,
                                                SINGLE_TIMEOUT_S), SINGLE_TIMEOUT_S, SETTLE_S)
        fill_channel(side.sandbox, inc.channel, [who.requester, who.invitee], messages, inc.title)
        backup_cpu = cpu_of(side, idle, partial(back_up_and_watch, side, drivers, [inc], who,
                                                SINGLE_TIMEOUT_S), SINGLE_TIMEOUT_S, SETTLE_S)
        if n:
            creates.append(create_cpu)
            backups.append(backup_cpu)
        if inc.problems or not inc.exact:
            raise RuntimeError(f"single run {inc.title}: {inc.problems or 'transcript not exact'}")
    return {"create": _median_by_category(creates), "backup": _median_by_category(backups)}


def _median_by_category(samples: list[dict[str, float]]) -> dict[str, float]:
    out = {k: round(statistics.median(s[k] for s in samples), 2) for k in CATEGORIES}
    out["total"] = round(statistics.median(sum(s.values()) for s in samples), 2)
    return out


def burst(side: Side, drivers: list[SlackDriver], who: People, count: int, messages: int,
          idle: dict[str, float]) -> dict[str, Any]:
    incidents = [Incident(f"Burst {side.name} {n}") for n in range(count)]
    opened = open_modals(drivers, side.sandbox, who.requester, who.origin, who.invitee,
                         [i.title for i in incidents])
    create_cpu = cpu_of(side, idle, partial(create_and_watch, side, opened, incidents, who,
                                            BURST_TIMEOUT_S))
    opened_ok = [i for i in incidents if i.channel]
    for inc in opened_ok:
        fill_channel(side.sandbox, inc.channel, [who.requester, who.invitee], messages, inc.title)
    backup_cpu = cpu_of(side, idle, partial(back_up_and_watch, side, drivers, opened_ok, who,
                                            BURST_TIMEOUT_S))
    ready = sorted(i.ready - i.submitted for i in incidents if i.ready)
    told = sorted(i.told - i.submitted for i in incidents if i.told)
    backed = sorted(i.backed_up - i.backup_sent for i in opened_ok if i.backed_up)
    return {
        "incidents": count,
        "create_failures": sum(1 for i in incidents if not (i.ready and i.told)),
        "backup_failures": sum(1 for i in opened_ok if not (i.backed_up and i.exact)),
        "exact_transcripts": sum(1 for i in opened_ok if i.exact),
        "problems": sorted({p for i in incidents for p in i.problems}),
        "ready_p50_s": _r(percentile(ready, 50)), "ready_p95_s": _r(percentile(ready, 95)),
        "told_p50_s": _r(percentile(told, 50)), "told_p95_s": _r(percentile(told, 95)),
        "backup_p50_s": _r(percentile(backed, 50)), "backup_p95_s": _r(percentile(backed, 95)),
        "cpu_per_create_s": _r(sum(create_cpu.values()) / count),
        "cpu_per_backup_s": _r(sum(backup_cpu.values()) / max(1, len(opened_ok))),
        "create_cpu_by_category_s": {k: _r(v) for k, v in create_cpu.items()},
        "backup_cpu_by_category_s": {k: _r(v) for k, v in backup_cpu.items()},
    }


def _r(x: float) -> float:
    return round(x, 2)


@contextmanager
def sqlite_side(work: Path) -> Iterator[Side]:
    """`irbot serve` on its embedded SQLite Prefect server, as `make demo` runs it."""
    with LocalStack(work / "sqlite", archive_delay=ARCHIVE_DELAY_S) as stack:
        yield Side("sqlite", lambda: stack.pids, [stack.webhook_url], False, stack.sandbox)


@contextmanager
def postgres_side(work: Path) -> Iterator[Side]:
    """`irbot topology` on a database of this run's own, dropped afterwards."""
    from webhook.prefect_db import drop_database, ensure_database

    url = f"{POSTGRES_SERVER}/irbot_bench_{uuid.uuid4().hex[:12]}"
    ensure_database(url)
    sb = Sandbox(bot_scopes=BOT_SCOPES).start()
    home = work / "postgres"
    home.mkdir(parents=True)
    env = {**private_prefect_env(os.environ, home / "prefect"),
           **irbot_settings(sb, ARCHIVE_DELAY_S),
           "PREFECT_API_DATABASE_CONNECTION_URL": url, "PREFECT_LOGGING_LEVEL": "INFO"}
    topo = TopologyProcess(home, env)
    try:
        topo.start()
        _pause_autobackup(topo.api_url)
        assert topo.proc is not None
        pid = topo.proc.pid
        yield Side("postgres", lambda: [pid], topo.webhook_urls, True, sb)
    finally:
        if topo.alive():
            topo.stop()
        sb.stop()
        drop_database(url)


def _pause_autobackup(api_url: str) -> None:
    """Every backup here is one the bench asked for (serve runs with no schedule either)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tasks.deployments import AUTOBACKUP

    with temporary_settings(updates={PREFECT_API_URL: api_url}), \
            get_client(sync_client=True) as client:
        client.pause_deployment(client.read_deployment_by_name(AUTOBACKUP).id)


def run_side(make: Callable[[Path], Any], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    with make(work) as side:
        drivers = [SlackDriver(url, SIGNING_SECRET, side.sandbox) for url in side.webhooks]
        who = people_of(side.sandbox)
        try:
            idle = idle_rate(side)
            single = single_runs(side, drivers, who, args.samples, args.messages, idle)
            result = burst(side, drivers, who, args.incidents, args.messages, idle)
        finally:
            for driver in drivers:
                driver.close()
    result["single"] = single
    result["idle_cpu_per_s"] = {k: round(v, 3) for k, v in idle.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--sides", nargs="+", default=["sqlite", "postgres"],
                        choices=["sqlite", "postgres"])
    args = parser.parse_args()
    info = machine_info()
    floor = {"import prefect": _r(bare_cpu("import prefect")),
             "import flows.create": _r(bare_cpu("import flows.create")),
             "import flows.backup": _r(bare_cpu("import flows.backup"))}
    cores = os.cpu_count() or 1
    sides: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="irbot-burst-"))
    for name in args.sides:
        sides[name] = s = run_side(sqlite_side if name == "sqlite" else postgres_side, work,
                                   args)
        per_run = s["cpu_per_create_s"]
        s["cpu_floor_s"] = _r(args.incidents * per_run / cores)
        s["told_p95_over_floor"] = _r(s["told_p95_s"] / s["cpu_floor_s"])
        s["single"]["create_over_floor"] = _r(s["single"]["create"]["total"]
                                               / floor["import prefect"])
        s["single"]["backup_over_floor"] = _r(s["single"]["backup"]["total"]
                                               / floor["import prefect"])
        print(f"{name}: {s}", flush=True)  # a side's figures survive a failure in the next
    path = write_results("burst", {"machine": info, "args": vars(args), "floor_cpu_s": floor,
                                   "sides": sides, "logs": str(work)})
    print(f"floor (CPU-s): {floor}")
    rows = [[n, s["create_failures"], s["backup_failures"], s["exact_transcripts"],
             s["ready_p50_s"], s["ready_p95_s"], s["told_p50_s"], s["told_p95_s"],
             s["backup_p50_s"], s["backup_p95_s"], s["cpu_per_create_s"], s["cpu_per_backup_s"],
             s["told_p95_over_floor"]] for n, s in sides.items()]
    print(table(["side", "create fail", "backup fail", "exact", "ready p50", "ready p95",
                 "told p50", "told p95", "backup p50", "backup p95", "CPU/create",
                 "CPU/backup", "p95/floor"], rows))
    for n, s in sides.items():
        print(f"{n} single create CPU-s: {s['single']['create']} "
              f"({s['single']['create_over_floor']}x floor)")
        print(f"{n} single backup CPU-s: {s['single']['backup']} "
              f"({s['single']['backup_over_floor']}x floor)")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
