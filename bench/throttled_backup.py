"""A first backup of a 100,000-message channel under Slack's rate limits, against their floor.

    python -m bench.throttled_backup [--messages 100000] [--limit 10] [--window 12]

The sandbox throttles Slack's methods as their tiers do, scaled down (fixed windows of
`--window` seconds): conversations.history and .replies (Tier 3, about 50 a minute) to
`--limit` calls a window, users.info (Tier 4, about 100 a minute) to twice that, and
chat.postMessage (about one a second) to one per second of window. Every call beyond gets 429
with Retry-After. The backup runs in a process of its own (bench.backup_run), as the runner
runs it, and must complete with every message in the CSV exactly once.

The floor: a method throttled to L calls per W-second window cannot make its n-th call before
(⌈n/L⌉ - 1)·W after its first. The backup reads all history pages before it looks anyone up
(README, "What each backup does"), so its floor is the sum of that bound over the throttled
methods it calls. An unthrottled backup of the same channel is the reference for the work
itself. Results: bench/results/throttled_backup.json.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from typing import Any

from bench.backup_cost import PHRASES, expected_ts, open_incident, run_backup, transcript
from bench.common import (
    REPO_ROOT,
    backup_stack,
    machine_info,
    table,
    workdir,
    write_results,
)
from sandbox import Sandbox

USERS = 100


def tiers(limit: int, window: float) -> dict[str, int]:
    """Calls per window for each Slack method a backup makes, Slack's tiers scaled to `limit`
    Tier 3 calls per `window` seconds (auth.test, once per run, is left alone)."""
    return {"conversations.history": limit, "conversations.replies": limit,
            "users.info": 2 * limit, "chat.postMessage": max(1, round(window))}


def seed(sb: Sandbox, channel: str, users: list[str], messages: int) -> None:
    """Top-level messages only: a thread adds a conversations.replies call, and the issue's
    measure is the history read (about 50 calls a minute for ⌈n/999⌉ pages)."""
    for i in range(messages):
        sb.post_message(channel, users[i % len(users)], f"{PHRASES[i % len(PHRASES)]} (#{i})")


def floor_seconds(ok_calls: int, limit: int, window: float) -> float:
    """The earliest the last of `ok_calls` can be answered after the first, at `limit` per
    fixed window: the calls beyond each window's budget wait for the next one."""
    return max(0, math.ceil(ok_calls / limit) - 1) * window if ok_calls else 0.0


def rate_figures(sb: Sandbox, limits: dict[str, int], window: float) -> dict[str, Any]:
    """Per throttled method: calls answered, 429s, the span between the first and last answer,
    and the floor for the calls answered."""
    answered = Counter(r.name for r in sb.requests("slack") if r.status == 200)
    refused = Counter(r.name for r in sb.requests("slack") if r.status == 429)
    out: dict[str, Any] = {}
    for method, limit in limits.items():
        times = [r.at for r in sb.requests("slack") if r.name == method and r.status == 200]
        out[method] = {"limit": limit, "window_s": window, "answered": answered[method],
                       "refused_429": refused[method],
                       "span_s": round(max(times) - min(times), 2) if times else 0.0,
                       "floor_s": floor_seconds(answered[method], limit, window)}
    return out


def check_csv(sb: Sandbox, key: str, channel: str) -> dict[str, Any]:
    """Every message exactly once: as many rows as messages, no ts twice, the same ts set."""
    files, frame, _ = transcript(sb, key)
    got = [] if frame is None else frame["ts"].tolist()
    want = expected_ts(sb, channel)
    return {"csv_files": files, "csv_rows": len(got), "distinct_ts": len(set(got)),
            "expected": len(want),
            "exactly_once": files == 1 and len(got) == len(set(got)) == len(want)
            and set(got) == set(want)}


def one_backup(sb: Sandbox, env: dict[str, str], users: list[str], prefect_pid: int,
               messages: int, limits: dict[str, int], window: float) -> dict[str, Any]:
    """A fresh incident of `messages` messages, backed up once with `limits` (none: {})."""
    label = "throttled" if limits else "unthrottled"
    key, channel = open_incident(sb, users, messages,
                                 f"Throttled backup bench, {messages} messages, {label}")
    seed(sb, channel, users, messages)
    for method, limit in limits.items():
        sb.throttle(method, limit, window)
    try:
        # Generous: 3x the floor of the history alone, plus the unthrottled work.
        budget = 3 * floor_seconds(math.ceil(messages / 999) + 1, max(limits.values(), default=1),
                                   window) + 300
        run = run_backup(sb, env, channel, key, prefect_pid, False, timeout=budget)
        run["rate"] = rate_figures(sb, limits, window) if limits else {}
    finally:
        sb.clear_faults()
    run.update(kind=label, messages=messages, check=check_csv(sb, key, channel))
    return run


def summary(throttled: dict[str, Any], reference: dict[str, Any] | None) -> dict[str, Any]:
    """Measured against the floor; the reference says how much is the backup's own work."""
    rate = throttled["rate"]
    floor = sum(m["floor_s"] for m in rate.values())
    out: dict[str, Any] = {
        "floor_s": floor,
        "flow_wall_s": round(throttled["flow_wall_s"], 1),
        "ratio_flow_to_floor": round(throttled["flow_wall_s"] / floor, 3) if floor else None,
        "history_span_s": rate["conversations.history"]["span_s"],
        "ratio_history_span_to_floor": round(
            rate["conversations.history"]["span_s"] / rate["conversations.history"]["floor_s"],
            3) if rate["conversations.history"]["floor_s"] else None,
        "refused_429": sum(m["refused_429"] for m in rate.values()),
    }
    if reference:
        out["unthrottled_flow_wall_s"] = round(reference["flow_wall_s"], 1)
        out["ratio_flow_to_floor_plus_unthrottled"] = round(
            throttled["flow_wall_s"] / (floor + reference["flow_wall_s"]), 3)
    return out


def report(runs: list[dict[str, Any]], result: dict[str, Any]) -> None:
    print(table(["backup", "CSV rows", "exactly once", "Slack requests", "flow s", "peak RSS MB"],
                [[r["kind"], f"{r['check']['csv_rows']:,}", r["check"]["exactly_once"],
                  sum(r["calls"]["slack"].values()), f"{r['flow_wall_s']:.1f}",
                  f"{r['peak_rss_mb']:.0f}"] for r in runs]))
    rate = runs[0]["rate"]
    print()
    print(table(["method (throttled run)", "limit / window", "answered", "429s", "span s",
                 "floor s"],
                [[m, f"{v['limit']} / {v['window_s']:g} s", v["answered"], v["refused_429"],
                  f"{v['span_s']:.1f}", f"{v['floor_s']:.0f}"] for m, v in rate.items()]))
    print(f"\nflow {result['flow_wall_s']} s vs floor {result['floor_s']:.0f} s: "
          f"{result['ratio_flow_to_floor']}x (history: {result['history_span_s']} s vs "
          f"{rate['conversations.history']['floor_s']:.0f} s, "
          f"{result['ratio_history_span_to_floor']}x); {result['refused_429']} answers 429")
    if "unthrottled_flow_wall_s" in result:
        print(f"unthrottled, the same channel: {result['unthrottled_flow_wall_s']} s; flow vs "
              f"floor + that: {result['ratio_flow_to_floor_plus_unthrottled']}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throttled_backup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=10, help="Tier 3 calls per window")
    parser.add_argument("--window", type=float, default=12.0, help="seconds (keep >= 10)")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the unthrottled backup of the same channel")
    args = parser.parse_args(argv)
    info, started = machine_info(), time.monotonic()
    runs: list[dict[str, Any]] = []
    with workdir("irbot-bench-throttled-") as work:
        with backup_stack(work, USERS) as (sb, env, prefect_pid, users):
            runs.append(one_backup(sb, env, users, prefect_pid, args.messages,
                                   tiers(args.limit, args.window), args.window))
            if not args.no_reference:
                runs.append(one_backup(sb, env, users, prefect_pid, args.messages, {},
                                       args.window))
        result = summary(runs[0], runs[1] if len(runs) > 1 else None)
        report(runs, result)
        path = write_results("throttled_backup", {
            "benchmark": "throttled_backup", "machine": info, "config": vars(args),
            "result": result, "runs": runs, "wall_s": round(time.monotonic() - started, 1)})
    print(f"Results: {path.relative_to(REPO_ROOT)} ({time.monotonic() - started:.0f} s)")
    ok = all("error" not in r and r["check"]["exactly_once"] for r in runs)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
