"""Crash matrix (issue 8): kill a flow-run process at each of its outside calls, then watch it heal.

For every k of a backup, a create and an archive, the sandbox SIGKILLs the flow-run process when
its k-th Slack/Jira call arrives, `before` it takes effect or `after` (stored, answer withheld).
The heal automation re-runs the crashed run; the case has converged once Slack and Jira hold
exactly what a run without a crash leaves (`bench.crash_cases`). Each case has an incident of
its own, and cases overlap: a kill while the incident lock is held costs the lock's lease.
Also measured: a backup killed mid-way, then `/irbot backup` typed at once, to a complete
transcript (the issue's goal: 90 s).

    python -m bench.crash_matrix [--flows backup create archive] [--ks K ...] [--retries 3]

Results go to bench/results/crash_matrix.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import zip_longest
from typing import Any
from uuid import UUID

from bench import crash_cases as cases
from bench import crash_runner as runner
from bench.backup_cost import jira_method
from bench.common import machine_info, table, workdir, write_results
from sandbox.driver import SlackDriver, wait_for
from sandbox.stack import SIGNING_SECRET, LocalStack

HEAL_TIMEOUT = 300.0  # heal + the dead holder's lease (60-75 s) + the re-run, loaded machine
POLL_SECONDS = 2.0
RUN_LIMIT = "40"  # re-runs waiting out a lease each hold a slot; the default 20 would queue
ARCHIVE_DELAY = 3600  # no deadline during the bench: every archive is decided by a click
WHENS = ("before", "after")
CASES_AT_ONCE = 3


@dataclass
class Case:
    flow: str
    k: int
    when: str
    since: float = 0.0  # time.time() when its action was sent
    incident: cases.Incident | None = None
    title: str = ""  # create: the modal's title, how its case is found
    step: str = ""  # the k-th call, as the sandbox saw it
    crashed_at: float | None = None
    run_id: str | None = None
    outcome: str = "not run"
    converge_s: float | None = None
    fault_lag_s: float | None = None  # process start → its fault in place (< ~1 s: in time)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.flow} k={self.k} {self.when}"

    @property
    def healed(self) -> bool:
        return self.outcome == "healed"


class Bench:
    """The stack, its people, and what each case does from its action to convergence."""

    def __init__(self, stack: LocalStack) -> None:
        self.sb = stack.sandbox
        self.driver = SlackDriver(stack.webhook_url, SIGNING_SECRET, self.sb)
        self.people = cases.People.seed(self.sb)
        assert stack.serve_pid is not None
        self.procs = runner.FlowProcesses(stack.serve_pid)
        # A case's setup runs and its start-up are CPU-bound (~2 CPU-s to import Prefect
        # per process): a few cases at a time, or the 2 cores would starve everyone (the heal
        # re-runs, and the processes already waiting for their fault).
        self.busy = threading.Semaphore(CASES_AT_ONCE)
        self.first_call_s: list[float] = []  # process start → its first outside call

    def start(self, case: Case, action: Callable[[], None]) -> int:
        """Send the action; the process that runs the case's flow run (found by its run id)."""
        old = self.procs.of_run(case.run_id) if case.run_id else set()
        case.since = time.time()
        action()
        if case.run_id is None:
            case.run_id = wait_for(lambda: self.find_run(case), timeout=runner.SPAWN_TIMEOUT,
                                   interval=0.05, what=f"the run of {case.label}")
        return self.procs.new_process(case.run_id, old)

    def find_run(self, case: Case) -> str | None:
        """The run the action made: a new create, backup or archive (not its timer)."""
        if case.flow == "create":
            run = runner.newest_run("create-incident", case.since, title=case.title)
        else:
            user = self.people.bob if case.flow == "backup" else self.people.alice
            run = runner.newest_run(f"{case.flow}-incident", case.since, requested_by=user,
                                    channel_id=self.incident(case).channel_id)
        return str(run.id) if run is not None else None

    @staticmethod
    def incident(case: Case) -> cases.Incident:
        assert case.incident is not None
        return case.incident

    # --- calibration: how many outside calls each flow makes, with nothing crashing -------

    def count_calls(self, case: Case, action: Callable[[], None], until: str) -> int:
        """The process's outside calls; also how soon it made the first (nothing else runs
        now): a fault must be in place by then, so this bounds `fault_lag_s`."""
        pid = self.start(case, action)
        self.sb.inject_crash("*", "*", runner.NEVER, from_pid=pid)
        born = time.time() - runner.age(pid)
        runner.wait_state(case.run_id, until, runner.CRASH_TIMEOUT)
        # Slack and Jira calls only: the webhook's own answers (response_url) may come later.
        first = min(r.at for r in self.sb.requests() if r.at >= born
                    and r.service in ("slack", "jira") and r.name != "response_url")
        self.first_call_s.append(round(first - born, 2))
        return runner.calls_counted(self.sb, pid)

    def calibrate(self) -> dict[str, int]:
        p, d, sb = self.people, self.driver, self.sb
        backup, archive = Case("backup", 0, "none"), Case("archive", 0, "none")
        self.prepare(backup, 1)
        self.prepare(archive, 1)
        inc, arch = self.incident(backup), self.incident(archive)
        counts = {"backup": self.count_calls(backup, lambda: cases.ask_backup(d, p.bob, inc),
                                             "COMPLETED")}
        create = Case("create", 0, "none", title="Calibration")
        counts["create"] = self.count_calls(
            create, lambda: cases.submit_create(d, p, create.title), "COMPLETED")
        counts["archive-wait"] = self.count_calls(
            archive, lambda: cases.ask_archive(d, p.alice, arch), "PAUSED")
        counts["archive"] = counts["archive-wait"] + self.count_calls(
            archive, lambda: cases.click_archive_now(d, sb, p, arch), "COMPLETED")
        # The checks must pass where nothing crashed, or they would fail every case.
        for flow, left in (("backup", cases.backup_problems(sb, inc)),
                           ("create", cases.create_problems(sb, p, create.title)),
                           ("archive", cases.archive_problems(sb, arch))):
            assert not left, f"calibration {flow}: {left}"
        return counts

    # --- setup: the incident a case starts from ------------------------------------------

    def prepare(self, case: Case, archive_wait_calls: int) -> None:
        """A backup case gets a first backup; an archive case killed after its wait gets an
        archive waiting for the click."""
        p, d, sb = self.people, self.driver, self.sb
        if case.flow == "create":
            return
        case.incident = inc = cases.new_incident(sb, p)
        if case.flow == "backup":
            cases.ask_backup(d, p.alice, inc)
            cases.wait_backup_saved(sb, inc, 1)
            cases.more_conversation(sb, p, inc)
        elif case.k > archive_wait_calls:
            cases.ask_archive(d, p.alice, inc)
            case.run_id = cases.run_id_of(cases.announcement(sb, inc))
            runner.wait_state(case.run_id, "PAUSED", cases.NOTICE_TIMEOUT)

    # --- one case: start, kill at call k, then poll until converged ------------------------

    def action(self, case: Case, archive_wait_calls: int) -> tuple[Callable[[], None], int]:
        """What starts the case's process, and which of that process's calls is the k-th."""
        p, d = self.people, self.driver
        if case.flow == "create":
            case.title = f"Crash create {case.k} {case.when}"
            return (lambda: cases.submit_create(d, p, case.title)), case.k
        inc = self.incident(case)
        if case.flow == "backup":
            return (lambda: cases.ask_backup(d, p.bob, inc)), case.k
        if case.k <= archive_wait_calls:
            return (lambda: cases.ask_archive(d, p.alice, inc)), case.k
        return (lambda: cases.click_archive_now(d, self.sb, p, inc)), case.k - archive_wait_calls

    def play(self, case: Case, archive_wait_calls: int) -> None:
        """The whole case; whatever goes wrong becomes its outcome, never a hang."""
        try:
            with self.busy:
                self.prepare(case, archive_wait_calls)
                self.crash(case, archive_wait_calls)
            if case.flow == "archive" and case.k <= archive_wait_calls:
                self.finish_archive_wait(case)
            self.converge(case)
        except Exception as exc:
            case.outcome = f"bench error: {type(exc).__name__}: {exc}"

    def crash(self, case: Case, archive_wait_calls: int) -> None:
        start, at_call = self.action(case, archive_wait_calls)
        pid = self.start(case, start)
        self.sb.inject_crash("*", "*", at_call, case.when,  # type: ignore[arg-type]
                             from_pid=pid)
        case.fault_lag_s = round(runner.age(pid), 2)
        record = runner.wait_crash(self.sb, pid)
        if record is None or not record.killed:
            case.notes.append(f"no kill at call {at_call}: {record}")
            return
        case.step = step_name(record.service, record.name)
        case.crashed_at = record.at

    def finish_archive_wait(self, case: Case) -> None:
        """An archive killed before its wait heals into the wait: someone clicks Archive now."""
        inc = self.incident(case)
        cases.announcement(self.sb, inc, timeout=HEAL_TIMEOUT)
        runner.wait_state(case.run_id, "PAUSED", HEAL_TIMEOUT)
        cases.click_archive_now(self.driver, self.sb, self.people, inc)

    def problems(self, case: Case) -> list[str]:
        """What is still wrong: Slack and Jira first (in-process, cheap), then Prefect."""
        if case.flow == "create":
            found = cases.create_problems(self.sb, self.people, case.title)
        elif case.flow == "backup":
            found = cases.backup_problems(self.sb, self.incident(case))
        else:
            found = cases.archive_problems(self.sb, self.incident(case))
        return found or run_problems(case.run_id, case.crashed_at is not None)

    def converge(self, case: Case) -> None:
        """Poll what Slack, Jira and Prefect hold until nothing is wrong, or time is up."""
        start = case.crashed_at or case.since
        left: list[str] = ["not checked"]
        while time.time() < start + HEAL_TIMEOUT:
            left = self.problems(case)
            if not left:
                case.outcome, case.converge_s = "healed", round(time.time() - start, 1)
                return
            time.sleep(POLL_SECONDS)
        case.outcome = "; ".join(left)


def step_name(service: str, name: str) -> str:
    return f"jira {jira_method(name)}" if service == "jira" else f"{service} {name}"


def run_problems(run_id: str | None, crashed: bool) -> list[str]:
    if run_id is None:
        return ["no flow run"]
    now, history = runner.run_history(UUID(run_id))
    problems = [] if now == "COMPLETED" else [f"run {now}"]
    if crashed and "CRASHED" not in history:
        problems.append("run never crashed")
    return problems


# --- the next /irbot backup after a crash ----------------------------------------------

@dataclass
class Retry:
    case: Case  # a backup killed at call k, after the call took effect
    transcript_s: float | None = None  # crash → one complete CSV
    answered_s: float | None = None  # crash → the responder's backup run completed
    outcome: str = "not run"


def responder_retry(bench: Bench, sample: Retry) -> None:
    """A backup killed mid-way (holding the lock); alice types `/irbot backup` at once."""
    case = sample.case
    try:
        with bench.busy:
            bench.prepare(case, 0)
            bench.crash(case, 0)
        inc, crashed_at = bench.incident(case), case.crashed_at
        assert crashed_at is not None, case.notes
        cases.ask_backup(bench.driver, bench.people.alice, inc)
        run = wait_for(lambda: runner.newest_run("backup-incident", crashed_at,
                                                 channel_id=inc.channel_id,
                                                 requested_by=bench.people.alice),
                       timeout=runner.SPAWN_TIMEOUT, what="the responder's backup run")
        while time.time() < crashed_at + HEAL_TIMEOUT:
            if sample.transcript_s is None and not cases.transcript_problems(bench.sb, inc):
                sample.transcript_s = round(time.time() - crashed_at, 1)
            if sample.answered_s is None and runner.run_history(run.id)[0] == "COMPLETED":
                sample.answered_s = round(time.time() - crashed_at, 1)
            if sample.transcript_s is not None and sample.answered_s is not None:
                sample.outcome = "complete"
                return
            time.sleep(0.5)
        sample.outcome = "timed out"
    except Exception as exc:
        sample.outcome = f"bench error: {type(exc).__name__}: {exc}"


# --- the plan, the run, the report -------------------------------------------------------

def plan_cases(counts: dict[str, int], flows: list[str], ks: list[int] | None) -> list[Case]:
    """Every (flow, k, when), interleaved so that lease waits of different flows overlap."""
    per_flow = [[Case(flow, k, when) for k in range(1, counts[flow] + 1)
                 if ks is None or k in ks for when in WHENS] for flow in flows]
    return [c for group in zip_longest(*per_flow) for c in group if c is not None]


def summary(plan: list[Case]) -> list[list[object]]:
    rows: list[list[object]] = []
    for flow in dict.fromkeys(c.flow for c in plan):
        for when in WHENS:
            done = [c for c in plan if c.flow == flow and c.when == when]
            times = [c.converge_s for c in done if c.converge_s is not None]
            rows.append([f"{flow} {when}", f"{sum(c.healed for c in done)}/{len(done)}",
                         round(statistics.median(times), 1) if times else "-",
                         max(times) if times else "-"])
    return rows


def matrix_rows(plan: list[Case], flow: str) -> list[list[object]]:
    def cell(c: Case | None) -> str:
        if c is None:
            return "-"
        return f"healed {c.converge_s:.0f} s" if c.healed else c.outcome
    by_k: dict[int, dict[str, Case]] = {}
    for c in plan:
        if c.flow == flow:
            by_k.setdefault(c.k, {})[c.when] = c
    return [[k, next((c.step for c in pair.values() if c.step), "?"),
             cell(pair.get("before")), cell(pair.get("after"))]
            for k, pair in sorted(by_k.items())]


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {"machine": machine_info()}
    os.environ["IRBOT_RUN_LIMIT"] = RUN_LIMIT
    with workdir("irbot-crash-") as work, \
            LocalStack(work.path / "stack", archive_delay=ARCHIVE_DELAY) as stack:
        os.environ.update(PREFECT_API_URL=f"{stack.prefect_url}/api",
                          PREFECT_HOME=str(work.path / "client"))
        from tasks.state import register_block_type

        register_block_type()
        bench = Bench(stack)
        counts = bench.calibrate()
        print(f"calls per flow: {counts}", flush=True)
        plan = plan_cases(counts, args.flows, args.ks)
        retries = [Retry(Case("backup", k, "after"))
                   for k in spread(counts["backup"], args.retries)]
        calibration_s = time.monotonic() - started
        print(f"{len(plan)} cases, each prepared when its turn comes", flush=True)
        with ThreadPoolExecutor(max_workers=len(plan) + len(retries)) as pool:
            waits = [pool.submit(responder_retry, bench, r) for r in retries]
            waits += [pool.submit(bench.play, c, counts["archive-wait"]) for c in plan]
            for wait in waits:
                wait.result()
        bench.driver.close()
    lags = [c.fault_lag_s for c in [*plan, *(r.case for r in retries)] if c.fault_lag_s]
    timing = {"first_call_after_start_s": bench.first_call_s,
              "fault_lag_max_s": max(lags, default=None)}
    print(f"\nfaults in place ≤ {timing['fault_lag_max_s']} s after a process started; "
          f"its first outside call came ≥ {min(bench.first_call_s)} s after (calibration)")
    result.update(calls=counts, calibration_s=round(calibration_s, 1), fault_timing=timing,
                  total_s=round(time.monotonic() - started, 1),
                  cases=[case_json(c) for c in plan],
                  next_backup=[{**asdict(r), "case": case_json(r.case)} for r in retries])
    report(plan, retries, args.flows)
    return result


def case_json(case: Case) -> dict[str, Any]:
    return {**asdict(case), "incident": asdict(case.incident) if case.incident else None}


def spread(n: int, count: int) -> list[int]:
    """`count` calls spread over the middle of an n-call backup (the lock is held there)."""
    return sorted({max(2, round(n * (i + 1) / (count + 1))) for i in range(count)})


def report(plan: list[Case], retries: list[Retry], flows: list[str]) -> None:
    for flow in flows:
        print(f"\n{flow}: step, before or after → outcome, crash → converged")
        print(table(["k", "call", "before", "after"], matrix_rows(plan, flow)))
    print("\n" + table(["cases", "healed", "median s", "max s"], summary(plan)))
    for c in plan:
        if c.notes:
            print(f"note: {c.flow} k={c.k} {c.when}: {'; '.join(c.notes)}")
    print("\nbackup killed mid-way, then /irbot backup at once:")
    print(table(["k", "call", "transcript complete s", "responder's backup done s",
                 "outcome"], [[r.case.k, r.case.step, r.transcript_s, r.answered_s, r.outcome]
                              for r in retries]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--flows", nargs="+", default=["backup", "create", "archive"],
                        choices=["backup", "create", "archive"])
    parser.add_argument("--ks", type=int, nargs="+", default=None,
                        help="only these k (default: every call of each flow)")
    parser.add_argument("--retries", type=int, default=3,
                        help="samples of a crashed backup followed by /irbot backup")
    args = parser.parse_args()
    result = run(args)
    # A partial matrix (a re-check of some cells) never replaces the full one.
    whole = args.ks is None and len(args.flows) == 3
    path = write_results("crash_matrix" if whole else "crash_matrix_partial", result)
    print(f"\nresults: {path}; load average at the end "
          f"{result['machine']['loadavg_at_end']}")


if __name__ == "__main__":
    main()
