"""Webhook ack latency under an open-loop load: irbot's webhook vs a bare Bolt app, same run.

The issue's goal: at 100 requests/s, p99 <= 50 ms and <= 1.2 times the bare app's p99, with no
errors, for `/irbot help` and for `/irbot backup` typed in a channel that is not an incident
(which makes irbot look the channel up in Prefect and answer on the response_url).

    python -m bench.webhook_ack [--rate 100] [--seconds 10] [--rounds 3]

Both apps run as production runs the webhook (uvicorn subprocess, factory, no access log); the
sandbox (Slack's side, response URLs) and the load generator share this process. Results go to
bench/results/webhook_ack.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from bench.common import (
    REPO_ROOT,
    Workdir,
    cpu_seconds,
    irbot_env,
    machine_info,
    percentile,
    prefect_server,
    set_prefect_env,
    spawn,
    stop,
    table,
    workdir,
    write_results,
)
from bench.loadgen import RawClient, Sample, build_post, open_loop
from sandbox import Sandbox
from sandbox.signing import sign, slash_command_body
from sandbox.stack import SIGNING_SECRET  # what bench.common.irbot_env configures
from webhook.local_prefect import free_port, wait_healthy

GOAL_P99_MS = 50.0
GOAL_RATIO = 1.2
# Slack gives up on an ack after 3 s, so a slower answer is an error, not a latency.
ACK_TIMEOUT_S = 3.0
# A backlog left by one scenario (queued requests, response_url posts) must not be measured as
# the next scenario's latency: wait until the server answers /health promptly again.
SETTLE_MAX_S = 10.0
SETTLE_HEALTHY_MS = 20.0
ANSWER_WAIT_S = 20.0
# Hard cap on the whole run; rounds that would not fit are skipped, and the report says so.
DEFAULT_BUDGET_S = 170.0
NOT_AN_INCIDENT = "not an open incident"


@dataclass(frozen=True)
class Scenario:
    name: str
    app: str  # "bare" or "irbot": which server receives it
    text: str  # what the user typed after /irbot
    answered_later: bool  # True when the answer comes on the response_url, not in the ack


SCENARIOS = (
    Scenario("bare  /irbot help", "bare", "help", answered_later=False),
    Scenario("irbot /irbot help", "irbot", "help", answered_later=False),
    Scenario("irbot /irbot backup (not an incident)", "irbot", "backup", answered_later=True),
)


@dataclass
class App:
    name: str
    proc: subprocess.Popen[bytes]
    base: str

    @property
    def events_url(self) -> str:
        return f"{self.base}/slack/events"


@dataclass
class RoundStats:
    n: int
    ok: int
    errors: int
    error_kinds: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    achieved_rate: float
    generator_lag_p99_ms: float
    server_cpu_ms_per_request: float  # the app under test
    prefect_cpu_ms_per_request: float  # the Prefect API server, which irbot's lookups load
    settle_s: float  # how long the server needed afterwards to be idle again


@dataclass
class ScenarioResult:
    scenario: str
    rounds: list[RoundStats] = field(default_factory=list)
    response_urls: list[str] = field(default_factory=list)
    answered_in_ack: int = 0


def wrong_ack(scenario: Scenario, sample: Sample) -> str | None:
    """Why an answer is not what Slack should get, or None when it is."""
    if sample.error:
        return sample.error
    if sample.status != 200:
        return f"http_{sample.status}"
    if scenario.app == "bare":
        return None if sample.body == b"ok" else "wrong_body"
    if scenario.text == "help":
        return None if b"commands" in sample.body else "wrong_body"
    # backup: either answered in the ack (channel known from a moment ago not to be an
    # incident) or an empty ack whose answer goes to the response_url (checked later).
    if not sample.body.strip():
        return None
    return None if NOT_AN_INCIDENT.encode() in sample.body else "wrong_body"


def prepare(sb: Sandbox, scenario: Scenario, url: str, count: int,
            channels: list[tuple[str, str]], users: list[str]) -> tuple[list[bytes], list[str]]:
    """Signed requests, each with its own response_url and trigger_id, as Slack sends them."""
    requests, response_urls = [], []
    for i in range(count):
        channel_id, channel_name = channels[i % len(channels)]
        response_url = sb.response_url()
        body = slash_command_body(
            text=scenario.text, user_id=users[i % len(users)], user_name=f"user{i % len(users)}",
            channel_id=channel_id, channel_name=channel_name, team_id=sb.team_id,
            response_url=response_url, trigger_id=sb.new_trigger_id())
        requests.append(build_post(url, body, sign(SIGNING_SECRET, body)))
        response_urls.append(response_url)
    return requests, response_urls


def summarise(scenario: Scenario, samples: list[Sample], achieved_rate: float,
              server_cpu_s: float, prefect_cpu_s: float, settle_s: float) -> RoundStats:
    kinds: dict[str, int] = {}
    lat = []
    for s in samples:
        problem = wrong_ack(scenario, s)
        if problem:
            kinds[problem] = kinds.get(problem, 0) + 1
        else:
            lat.append(s.latency_s * 1000)
    lat.sort()
    lags = sorted(s.lag_s * 1000 for s in samples)
    n = len(samples)
    return RoundStats(
        n=n, ok=len(lat), errors=n - len(lat), error_kinds=kinds,
        p50_ms=percentile(lat, 50), p90_ms=percentile(lat, 90), p99_ms=percentile(lat, 99),
        max_ms=lat[-1] if lat else float("nan"), achieved_rate=achieved_rate,
        generator_lag_p99_ms=percentile(lags, 99),
        server_cpu_ms_per_request=server_cpu_s * 1000 / n,
        prefect_cpu_ms_per_request=prefect_cpu_s * 1000 / n, settle_s=settle_s)


async def settle(http: httpx.AsyncClient, app: App) -> float:
    """Seconds until the app answers /health within SETTLE_HEALTHY_MS twice in a row."""
    started = time.perf_counter()
    good = 0
    while good < 2 and time.perf_counter() - started < SETTLE_MAX_S:
        t = time.perf_counter()
        try:
            await http.get(f"{app.base}/health")
            good = good + 1 if (time.perf_counter() - t) * 1000 < SETTLE_HEALTHY_MS else 0
        except httpx.HTTPError:
            good = 0
        await asyncio.sleep(0.2)
    return time.perf_counter() - started


async def drive(sb: Sandbox, apps: dict[str, App], prefect_pid: int, args: argparse.Namespace,
                channels: list[tuple[str, str]], users: list[str],
                deadline: float) -> list[ScenarioResult]:
    results = {s.name: ScenarioResult(s.name) for s in SCENARIOS}
    clients = {name: RawClient(app.events_url) for name, app in apps.items()}
    count = int(args.rate * args.seconds)
    async with httpx.AsyncClient(timeout=5) as http:
        # Warm-up: first-request costs (auth.test, imports on first use, connection set-up,
        # the first Prefect lookups) are not what a busy webhook pays per request.
        for s in SCENARIOS:
            reqs, _ = prepare(sb, s, apps[s.app].events_url, args.warmup, channels, users)
            await open_loop(clients[s.app], reqs, args.rate, ACK_TIMEOUT_S)
            await settle(http, apps[s.app])
        round_s = len(SCENARIOS) * (args.seconds + 2.0)  # a round's duration when all is well
        for r in range(args.rounds):
            if time.monotonic() + round_s > deadline:
                print(f"  time budget reached: {r} round(s) done of {args.rounds}", flush=True)
                break
            # Alternate the order so slow drift on the shared machine hits every scenario alike.
            order = SCENARIOS if r % 2 == 0 else tuple(reversed(SCENARIOS))
            for s in order:
                app = apps[s.app]
                reqs, urls = prepare(sb, s, app.events_url, count, channels, users)
                gc.collect()  # the previous round's garbage collected mid-round would be noise
                cpu0, pcpu0 = cpu_seconds(app.proc.pid), cpu_seconds(prefect_pid)
                samples, achieved = await open_loop(clients[s.app], reqs, args.rate,
                                                    ACK_TIMEOUT_S)
                settled = await settle(http, app)
                # CPU counted up to the settled point: work done after the ack belongs to it.
                stats = summarise(s, samples, achieved, cpu_seconds(app.proc.pid) - cpu0,
                                  cpu_seconds(prefect_pid) - pcpu0, settled)
                results[s.name].rounds.append(stats)
                if s.answered_later:
                    # Only empty acks promise a later answer on their response_url.
                    results[s.name].response_urls += [
                        u for u, smp in zip(urls, samples, strict=True) if not smp.body.strip()]
                    results[s.name].answered_in_ack += sum(
                        1 for smp in samples if NOT_AN_INCIDENT.encode() in smp.body)
                print(f"  round {r + 1}  {s.name:<38} p50 {stats.p50_ms:6.1f}  "
                      f"p99 {stats.p99_ms:7.1f}  max {stats.max_ms:7.1f} ms  "
                      f"errors {stats.errors:4}  cpu {stats.server_cpu_ms_per_request:4.1f} "
                      f"ms/req  gen lag p99 {stats.generator_lag_p99_ms:5.1f} ms", flush=True)
    for client in clients.values():
        await client.aclose()
    return list(results.values())


def check_answers(sb: Sandbox, expected: list[str]) -> dict[str, int]:
    """Every non-incident backup must get its ephemeral "not an incident" on the response_url."""
    wanted = set(expected)
    deadline = time.monotonic() + ANSWER_WAIT_S
    while True:
        got = {r["url"]: r["body"] for r in sb.responses if r["url"] in wanted}
        if len(got) == len(wanted) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    right = sum(1 for b in got.values()
                if NOT_AN_INCIDENT in str(b.get("text", ""))
                and b.get("response_type", "ephemeral") == "ephemeral")
    return {"requests": len(wanted), "answered": len(got), "answered_correctly": right}


def start_app(name: str, target: str, env: dict[str, str], work: Workdir) -> App:
    port = free_port()
    proc = spawn([sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1",
                  "--port", str(port), "--no-access-log", "--log-level", "warning"],
                 env, work.log(name))
    app = App(name, proc, f"http://127.0.0.1:{port}")
    try:
        wait_healthy(f"{app.base}/health", 60, proc)
    except BaseException:
        stop(proc)
        raise
    return app


def tracebacks(work: Workdir, name: str) -> int:
    """An ack can be 200 while the work after it failed: that only shows in the server's log."""
    return work.log(name).read_text(errors="replace").count("Traceback")


def median_of(rounds: list[RoundStats], attr: str) -> float:
    return float(statistics.median(getattr(r, attr) for r in rounds)) if rounds else float("nan")


def report(results: list[ScenarioResult], answers: dict[str, int], args: argparse.Namespace,
           problems: dict[str, int], nproc: int | None) -> dict[str, Any]:
    bare = next(r for r in results if r.scenario.startswith("bare"))
    bare_p99 = median_of(bare.rounds, "p99_ms")
    rows, summary = [], {}
    for res in results:
        p99 = median_of(res.rounds, "p99_ms")
        errors = sum(r.errors for r in res.rounds)
        ratio = p99 / bare_p99 if bare_p99 > 0 else float("nan")
        s: dict[str, Any] = {
            "rounds": len(res.rounds),
            "p50_ms": median_of(res.rounds, "p50_ms"), "p90_ms": median_of(res.rounds, "p90_ms"),
            "p99_ms": p99, "max_ms": max((r.max_ms for r in res.rounds), default=float("nan")),
            "errors": errors, "requests": sum(r.n for r in res.rounds),
            "p99_per_round_ms": [round(r.p99_ms, 2) for r in res.rounds],
            "ratio_p99_vs_bare": ratio,
            "server_cpu_ms_per_request": median_of(res.rounds, "server_cpu_ms_per_request"),
            "prefect_cpu_ms_per_request": median_of(res.rounds, "prefect_cpu_ms_per_request"),
            "achieved_rate_min": min((r.achieved_rate for r in res.rounds), default=0.0),
            "generator_lag_p99_ms_max": max((r.generator_lag_p99_ms for r in res.rounds),
                                            default=float("nan")),
        }
        goal = "-"
        if res.scenario.startswith("irbot"):
            answered = ("backup" not in res.scenario
                        or answers["answered_correctly"] == answers["requests"])
            s["meets_goal"] = (p99 <= GOAL_P99_MS and ratio <= GOAL_RATIO and errors == 0
                               and answered and problems.get("irbot", 0) == 0)
            goal = "yes" if s["meets_goal"] else "NO"
        summary[res.scenario] = s
        rows.append([res.scenario, f"{s['p50_ms']:.1f}", f"{s['p90_ms']:.1f}", f"{p99:.1f}",
                     f"{s['max_ms']:.1f}", f"{errors}/{s['requests']}", f"{ratio:.2f}",
                     f"{s['server_cpu_ms_per_request']:.2f}",
                     f"{s['prefect_cpu_ms_per_request']:.2f}",
                     f"{s['generator_lag_p99_ms_max']:.1f}", goal])
    rounds = min(len(r.rounds) for r in results)
    print()
    print(f"Ack latency, ms: median over {rounds} round(s) of {int(args.rate * args.seconds)} "
          f"requests at {args.rate:g}/s (open loop); max and errors over all rounds.")
    print("cpu = CPU ms per request of the app under test / of the Prefect server "
          "(incl. work after the ack).")
    print(table(["scenario", "p50", "p90", "p99", "max", "errors", "p99/bare", "cpu app",
                 "cpu prefect", "gen lag p99", "goal"], rows))
    print(f"\nGoal: p99 <= {GOAL_P99_MS:g} ms and <= {GOAL_RATIO}x bare p99, no errors.")
    print(f"Backup answers: {answers['answered_in_ack']} in the ack itself; on the response_url "
          f"{answers['answered_correctly']} correct of {answers['requests']} "
          f"({answers['answered']} answered).")
    print(f"Tracebacks in server logs: {problems}")
    print(f"Note: the load generator, the sandbox and both servers share this machine's {nproc} "
          "cores (and with anything else running there): compare figures within one run; "
          "'gen lag' above a few ms means this process itself was starved.")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_ack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=50, help="requests per scenario")
    parser.add_argument("--channels", type=int, default=20,
                        help="distinct non-incident channels the backups are spread over")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S,
                        help="seconds; rounds that would end later are skipped")
    args = parser.parse_args(argv)
    info = machine_info()
    started = time.monotonic()

    with workdir("irbot-bench-ack-") as work:
        api = set_prefect_env(work)
        with Sandbox() as sb, prefect_server(work) as prefect:
            users = [sb.add_user(f"user{i}") for i in range(10)]
            channels = [(sb.add_channel(f"ops-{i}", users), f"ops-{i}")
                        for i in range(args.channels)]
            env = irbot_env(sb, api)
            apps: dict[str, App] = {}
            try:
                apps["irbot"] = start_app("irbot", "webhook.app:create_api", env, work)
                apps["bare"] = start_app("bare", "bench.bare_app:create_api", env, work)
                print(f"irbot {apps['irbot'].base}, bare {apps['bare'].base}, sandbox {sb.url}, "
                      f"Prefect {api} (set-up {time.monotonic() - started:.0f} s)", flush=True)
                results = asyncio.run(drive(sb, apps, prefect.pid, args, channels, users,
                                            started + args.budget - ANSWER_WAIT_S))
                backup = next(r for r in results if "backup" in r.scenario)
                answers = check_answers(sb, backup.response_urls)
                answers["answered_in_ack"] = backup.answered_in_ack
                auth_tests = len(sb.requests("slack", "auth.test"))
            finally:
                for app in reversed(apps.values()):
                    stop(app.proc)
            problems = {name: tracebacks(work, name) for name in apps}
        summary = report(results, answers, args, problems, info["nproc"])
        path = write_results("webhook_ack", {
            "benchmark": "webhook_ack",
            "machine": info,
            "config": {**vars(args), "ack_timeout_s": ACK_TIMEOUT_S,
                       "goal": {"p99_ms": GOAL_P99_MS, "ratio": GOAL_RATIO}},
            "summary": summary,
            "rounds": {r.scenario: [asdict(x) for x in r.rounds] for r in results},
            "backup_answers": answers,
            "auth_test_calls": auth_tests,
            "server_log_tracebacks": problems,
            "wall_s": round(time.monotonic() - started, 1),
        })
    print(f"Results: {path.relative_to(REPO_ROOT)} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
