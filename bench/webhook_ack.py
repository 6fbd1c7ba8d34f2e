"""Webhook ack latency under an open-loop load: irbot's webhook vs a bare Bolt app, same run.

The issue's goal: at 100 requests/s, p99 ≤ 50 ms and ≤ 1.2 times the bare app's p99, with no
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
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from bench.common import (
    REPO_ROOT,
    SIGNING_SECRET,
    Workdir,
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
from sandbox import Sandbox
from sandbox.signing import sign, slash_command_body
from webhook.supervisor import free_port, wait_healthy

GOAL_P99_MS = 50.0
GOAL_RATIO = 1.2
# Slack gives up on an ack after 3 s, so a slower answer is an error, not a latency.
ACK_TIMEOUT_S = 3.0
# Enough sockets that a stall never makes a request queue for a connection inside httpx
# (that would turn the open loop back into a closed one).
MAX_CONNECTIONS = 256
# Background work (response_url posts) of one scenario must not spill into the next one.
SETTLE_S = 1.0
ANSWER_WAIT_S = 20.0
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
class Prepared:
    """One request, built and signed before the timed loop so the generator stays light."""

    body: str
    headers: dict[str, str]
    response_url: str


@dataclass
class Sample:
    lag_s: float  # how late the generator sent it (its own health, not the server's)
    latency_s: float | None  # send → full response; None on error
    error: str | None = None


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


@dataclass
class ScenarioResult:
    scenario: str
    rounds: list[RoundStats] = field(default_factory=list)
    response_urls: list[str] = field(default_factory=list)


def expected_ack(scenario: Scenario, status: int, body: bytes) -> str | None:
    """Why an answer is wrong, or None when it is what Slack should get."""
    if status != 200:
        return f"http_{status}"
    if scenario.app == "bare":
        return None if body == b"ok" else "wrong_body"
    if scenario.text == "help":
        return None if b"commands" in body else "wrong_body"
    return None  # backup: an empty ack; its answer goes to the response_url (checked later)


def prepare(sb: Sandbox, scenario: Scenario, count: int, channels: list[tuple[str, str]],
            users: list[str]) -> list[Prepared]:
    out = []
    for i in range(count):
        channel_id, channel_name = channels[i % len(channels)]
        response_url = sb.response_url()
        body = slash_command_body(
            text=scenario.text, user_id=users[i % len(users)], user_name=f"user{i % len(users)}",
            channel_id=channel_id, channel_name=channel_name, team_id=sb.team_id,
            response_url=response_url, trigger_id=sb.new_trigger_id())
        out.append(Prepared(body, sign(SIGNING_SECRET, body), response_url))
    return out


async def one(client: httpx.AsyncClient, url: str, scenario: Scenario, req: Prepared,
              scheduled: float) -> Sample:
    started = time.perf_counter()
    lag = started - scheduled
    try:
        resp = await client.post(url, content=req.body, headers=req.headers)
        body = resp.content
    except httpx.TimeoutException:
        return Sample(lag, None, "timeout")
    except httpx.HTTPError as exc:
        return Sample(lag, None, type(exc).__name__)
    elapsed = time.perf_counter() - started
    problem = expected_ack(scenario, resp.status_code, body)
    return Sample(lag, None if problem else elapsed, problem)


async def open_loop(client: httpx.AsyncClient, url: str, scenario: Scenario,
                    requests: list[Prepared], rate: float) -> tuple[list[Sample], float]:
    """Send request i at t0 + i/rate whatever happened to the earlier ones (open loop: a slow
    server does not slow the arrivals, as with real users)."""
    tasks: list[asyncio.Task[Sample]] = []
    t0 = time.perf_counter() + 0.05
    for i, req in enumerate(requests):
        at = t0 + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(client, url, scenario, req, at)))
    sent_span = time.perf_counter() - t0
    samples = await asyncio.gather(*tasks)
    return samples, (len(requests) - 1) / sent_span if sent_span > 0 else float("nan")


def summarise(samples: list[Sample], achieved_rate: float) -> RoundStats:
    lat = sorted(s.latency_s * 1000 for s in samples if s.latency_s is not None)
    lags = sorted(s.lag_s * 1000 for s in samples)
    kinds: dict[str, int] = {}
    for s in samples:
        if s.error:
            kinds[s.error] = kinds.get(s.error, 0) + 1
    return RoundStats(
        n=len(samples), ok=len(lat), errors=len(samples) - len(lat), error_kinds=kinds,
        p50_ms=percentile(lat, 50), p90_ms=percentile(lat, 90), p99_ms=percentile(lat, 99),
        max_ms=lat[-1] if lat else float("nan"), achieved_rate=achieved_rate,
        generator_lag_p99_ms=percentile(lags, 99))


def median_of(rounds: list[RoundStats], attr: str) -> float:
    return float(statistics.median(getattr(r, attr) for r in rounds))


async def drive(sb: Sandbox, urls: dict[str, str], args: argparse.Namespace,
                channels: list[tuple[str, str]], users: list[str]) -> list[ScenarioResult]:
    results = {s.name: ScenarioResult(s.name) for s in SCENARIOS}
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS,
                          max_keepalive_connections=MAX_CONNECTIONS)
    async with httpx.AsyncClient(timeout=ACK_TIMEOUT_S, limits=limits) as client:
        # Warm-up: first-request costs (auth.test, imports on first use, connection set-up,
        # the first Prefect lookups) are not what a busy webhook pays per request.
        for s in SCENARIOS:
            reqs = prepare(sb, s, args.warmup, channels, users)
            await open_loop(client, urls[s.app], s, reqs, args.rate)
        await asyncio.sleep(SETTLE_S)
        count = int(args.rate * args.seconds)
        for r in range(args.rounds):
            # Alternate the order so slow drift on the shared machine hits every scenario alike.
            order = SCENARIOS if r % 2 == 0 else tuple(reversed(SCENARIOS))
            for s in order:
                reqs = prepare(sb, s, count, channels, users)
                gc.collect()  # a collection of the previous round's garbage mid-round is noise
                samples, achieved = await open_loop(client, urls[s.app], s, reqs, args.rate)
                stats = summarise(samples, achieved)
                results[s.name].rounds.append(stats)
                if s.answered_later:
                    results[s.name].response_urls += [q.response_url for q in reqs]
                print(f"  round {r + 1} {s.name:<40} p50 {stats.p50_ms:6.1f}  "
                      f"p99 {stats.p99_ms:6.1f}  max {stats.max_ms:7.1f} ms  "
                      f"errors {stats.errors}", flush=True)
                await asyncio.sleep(SETTLE_S)
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


def start_app(name: str, target: str, env: dict[str, str], work: Workdir) -> tuple[Any, str]:
    port = free_port()
    proc = spawn([sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1",
                  "--port", str(port), "--no-access-log", "--log-level", "warning"],
                 env, work.log(name))
    base = f"http://127.0.0.1:{port}"
    wait_healthy(f"{base}/health", 60, proc)
    return proc, f"{base}/slack/events"


def log_problems(work: Workdir, name: str) -> int:
    """Tracebacks in a server's log: an ack can be 200 while the work after it failed."""
    text = work.log(name).read_text(errors="replace")
    return text.count("Traceback")


def report(results: list[ScenarioResult], answers: dict[str, int], args: argparse.Namespace,
           problems: dict[str, int]) -> dict[str, Any]:
    bare = next(r for r in results if r.scenario.startswith("bare"))
    bare_p99 = median_of(bare.rounds, "p99_ms")
    rows, summary = [], {}
    for res in results:
        p99 = median_of(res.rounds, "p99_ms")
        errors = sum(r.errors for r in res.rounds)
        ratio = p99 / bare_p99 if bare_p99 > 0 else float("nan")
        s = {
            "p50_ms": median_of(res.rounds, "p50_ms"), "p90_ms": median_of(res.rounds, "p90_ms"),
            "p99_ms": p99, "max_ms": max(r.max_ms for r in res.rounds),
            "errors": errors, "requests": sum(r.n for r in res.rounds),
            "p99_per_round_ms": [round(r.p99_ms, 2) for r in res.rounds],
            "ratio_p99_vs_bare": ratio,
            "achieved_rate_min": min(r.achieved_rate for r in res.rounds),
            "generator_lag_p99_ms_max": max(r.generator_lag_p99_ms for r in res.rounds),
        }
        if res.scenario.startswith("irbot"):
            answered_ok = answers["answered_correctly"] == answers["requests"] \
                if "backup" in res.scenario else True
            s["meets_goal"] = (p99 <= GOAL_P99_MS and ratio <= GOAL_RATIO and errors == 0
                               and answered_ok)
        summary[res.scenario] = s
        rows.append([res.scenario, f"{s['p50_ms']:.1f}", f"{s['p90_ms']:.1f}",
                     f"{p99:.1f}", f"{s['max_ms']:.1f}", f"{errors}/{s['requests']}",
                     f"{ratio:.2f}", f"{s['generator_lag_p99_ms_max']:.1f}",
                     {True: "yes", False: "NO"}.get(s.get("meets_goal"), "-")])
    print()
    print(f"Ack latency, ms (median of {args.rounds} rounds of {int(args.rate * args.seconds)} "
          f"requests at {args.rate:g}/s; max and errors over all rounds)")
    print(table(["scenario", "p50", "p90", "p99", "max", "errors", "p99/bare", "gen lag p99",
                 "goal"], rows))
    print(f"\nGoal: p99 <= {GOAL_P99_MS:g} ms and <= {GOAL_RATIO}x bare p99, no errors.")
    print(f"Backup answers on response_url: {answers['answered_correctly']} correct of "
          f"{answers['requests']} ({answers['answered']} answered).")
    print(f"Tracebacks in server logs: {problems}")
    print("Note: the load generator, the sandbox and both servers share this machine's "
          f"{machine_info()['nproc']} cores (and with whatever else runs there): figures are "
          "upper bounds, to be compared within one run.")
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
    args = parser.parse_args(argv)
    info = machine_info()
    started = time.monotonic()

    with workdir("irbot-bench-ack-") as work:
        api = set_prefect_env(work)
        with Sandbox() as sb, prefect_server(work):
            users = [sb.add_user(f"user{i}") for i in range(10)]
            channels = [(sb.add_channel(f"ops-{i}", users), f"ops-{i}")
                        for i in range(args.channels)]
            env = irbot_env(sb, api)
            procs = []
            try:
                irbot_proc, irbot_url = start_app("irbot", "webhook.app:create_api", env, work)
                procs.append(irbot_proc)
                bare_proc, bare_url = start_app("bare", "bench.bare_app:create_api", env, work)
                procs.append(bare_proc)
                print(f"irbot webhook {irbot_url}, bare app {bare_url}, sandbox {sb.url}, "
                      f"Prefect {api}; cwd {REPO_ROOT}", flush=True)
                results = asyncio.run(drive(sb, {"irbot": irbot_url, "bare": bare_url}, args,
                                            channels, users))
                backup = next(r for r in results if r.response_urls)
                answers = check_answers(sb, backup.response_urls)
                auth_tests = len(sb.requests("slack", "auth.test"))
            finally:
                for proc in reversed(procs):
                    stop(proc)
            problems = {name: log_problems(work, name) for name in ("irbot", "bare")}
        summary = report(results, answers, args, problems)
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
