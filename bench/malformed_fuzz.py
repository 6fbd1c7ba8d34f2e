"""Signed malformed requests: irbot's webhook vs a bare Bolt app, the same requests in one run.

Issue 14's measure: how many answers are 500s (a crash in the log, an alert, a request Slack
retries), and how slow the slowest answer is (Slack gives up after 3 s).

    python -m bench.malformed_fuzz [--requests 2000] [--seed 14]

The corpus is `sandbox/malformed.py`'s, which the e2e fuzz test also uses. Both apps run as
uvicorn subprocesses with production's command line (`bench.webhook_ack.start_app`; the bare app
is `bench/bare_app.py`). Requests go one at a time and alternate between the apps, so that drift
on a shared machine hits both alike. Results go to bench/results/malformed_fuzz.json.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.common import (
    REPO_ROOT,
    irbot_env,
    machine_info,
    percentile,
    prefect_server,
    set_prefect_env,
    stop,
    table,
    workdir,
    write_results,
)
from bench.webhook_ack import App, start_app, tracebacks
from sandbox import Sandbox
from sandbox.malformed import Malformed, Origin, malformed_requests
from sandbox.stack import SIGNING_SECRET  # what bench.common.irbot_env configures

# Signatures older than 5 minutes are refused: sign the corpus in batches as it is sent.
BATCH = 200
SETTLE_S = 2.0  # listeners finish their work after the ack; a run would be created by now


@dataclass
class Tally:
    """One app's answers."""

    statuses: Counter[str] = field(default_factory=Counter)
    crashes_by_kind: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")

    def add(self, request: Malformed, status: str, elapsed_ms: float) -> None:
        self.statuses[status] += 1
        if status.startswith("5") or status == "error":
            self.crashes_by_kind[request.kind] += 1
        self.latencies_ms.append(elapsed_ms)
        self.slowest = max(self.slowest, (elapsed_ms, request.kind))

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        return {"requests": len(lat), "statuses": dict(sorted(self.statuses.items())),
                "answers_5xx": sum(n for s, n in self.statuses.items() if s.startswith("5")),
                "crashes_by_kind": dict(self.crashes_by_kind.most_common()),
                "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
                "slowest_ms": self.slowest[0], "slowest_kind": self.slowest[1]}


def send(http: httpx.Client, app: App, request: Malformed) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        status = str(http.post(app.events_url, content=request.body,
                               headers=request.headers).status_code)
    except httpx.HTTPError:
        status = "error"
    return status, (time.perf_counter() - started) * 1000


def drive(apps: dict[str, App], origin: Origin, args: argparse.Namespace) -> dict[str, Tally]:
    rng = random.Random(args.seed)
    tallies = {name: Tally() for name in apps}
    # A fresh connection per request: a server that crashed on one request may reset the
    # connection, and the next request must not be counted against it.
    with httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as http:
        sent = 0
        while sent < args.requests:
            for request in malformed_requests(rng, min(BATCH, args.requests - sent), origin):
                order = list(apps) if sent % 2 == 0 else list(reversed(apps))
                for name in order:
                    status, ms = send(http, apps[name], request)
                    tallies[name].add(request, status, ms)
                sent += 1
            print(f"  {sent} requests sent to each app", flush=True)
    return tallies


def flow_run_count(api: str) -> int:
    return int(httpx.post(f"{api}/flow_runs/count", json={}, timeout=10).json())


def report(summary: dict[str, dict[str, Any]]) -> None:
    statuses = sorted({s for app in summary.values() for s in app["statuses"]})
    rows = [[name, s["requests"], *(s["statuses"].get(st, 0) for st in statuses),
             f"{s['p99_ms']:.1f}", f"{s['slowest_ms']:.1f} ({s['slowest_kind']})"]
            for name, s in summary.items()]
    print()
    print(table(["app", "requests", *statuses, "p99 ms", "slowest ms (kind)"], rows))
    for name, s in summary.items():
        if s["crashes_by_kind"]:
            print(f"\n{name}: 5xx by kind: {s['crashes_by_kind']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.malformed_fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="sent to each app")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args(argv)
    info = machine_info()
    started = time.monotonic()

    with workdir("irbot-bench-fuzz-") as work:
        api = set_prefect_env(work)
        with Sandbox() as sb, prefect_server(work):
            user = sb.add_user("fuzzer")
            origin = Origin(sb, SIGNING_SECRET, user, sb.add_channel("fuzzing", [user]))
            env = irbot_env(sb, api)
            apps: dict[str, App] = {}
            try:
                apps["irbot"] = start_app("irbot", "webhook.app:create_api", env, work)
                apps["bare Bolt"] = start_app("bare", "bench.bare_app:create_api", env, work)
                print(f"irbot {apps['irbot'].base}, bare {apps['bare Bolt'].base} "
                      f"(set-up {time.monotonic() - started:.0f} s)", flush=True)
                tallies = drive(apps, origin, args)
                time.sleep(SETTLE_S)
                healthy = {name: httpx.get(f"{app.base}/health", timeout=5).status_code == 200
                           for name, app in apps.items()}
                runs = flow_run_count(api)
                slack_calls = sorted({r.name for r in sb.requests("slack")})
                writes = len(sb.requests("jira")) + len(sb.pagerduty_events)
            finally:
                for app in reversed(apps.values()):
                    stop(app.proc)
            logged = {"irbot": tracebacks(work, "irbot"), "bare Bolt": tracebacks(work, "bare")}
        summary = {name: {**t.summary(), "healthy_after": healthy[name],
                          "tracebacks_in_log": logged[name]} for name, t in tallies.items()}
        summary["irbot"]["flow_runs_created"] = runs
        report(summary)
        print(f"\nirbot: flow runs created {runs}; Slack methods called (both apps) "
              f"{slack_calls}; Jira/PagerDuty writes {writes}; tracebacks in logs {logged}; "
              f"healthy after {healthy}")
        path = write_results("malformed_fuzz", {
            "benchmark": "malformed_fuzz", "machine": info, "config": vars(args),
            "summary": summary, "slack_methods_called": slack_calls,
            "jira_pagerduty_writes": writes, "wall_s": round(time.monotonic() - started, 1)})
    print(f"Results: {path.relative_to(REPO_ROOT)} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
