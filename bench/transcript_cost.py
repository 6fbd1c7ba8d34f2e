"""The auditor's transcript at size: calls by method against the formula, time and memory.

    python -m bench.transcript_cost [--messages 10000] [--threads 500] [--redaction-check 100000]

A channel of 10,000 top-level messages by 100 users, 500 of them threads of 10 replies, 200
edits, 50 deletions and 100 files (2 KB each); a first backup, then 1,000 more messages and
100 new replies in old threads and an incremental backup. Each backup runs in a process of its
own (bench.backup_run), as the runner runs it; the sandbox counts every call. With
--redaction-check N, a channel of N messages is backed up twice more, with IRBOT_REDACT_SECRETS
true and false, to compare the flows' wall times. Results: bench/results/transcript_cost.json.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from bench.backup_cost import PHRASES, open_incident, run_backup
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
REPLIES_PER_THREAD = 10
EDITS, DELETIONS, FILES = 200, 50, 100
FILE_BYTES = 2048
HISTORY_PAGE, REPLIES_PAGE = 999, 1000
NOTICES = 2  # "Backup … requested by …" and its outcome, both in the channel's history


def seed_channel(sb: Sandbox, channel: str, users: list[str], messages: int,
                 threads: int) -> list[str]:
    """The channel of the issue; returns the thread parents' ts."""
    parents: list[str] = []
    thread_every = max(messages // max(threads, 1), 1)
    file_every = max(messages // FILES, 1)
    top: list[str] = []
    for i in range(messages):
        user = users[i % len(users)]
        text = f"{PHRASES[i % len(PHRASES)]} (#{i})"
        if i % file_every == file_every - 1 and i // file_every < FILES:
            ts, _ = sb.post_file(channel, user, f"screenshot-{i}.png",
                                 b"\x89PNG" + bytes(FILE_BYTES - 4), "image/png", text=text)
        else:
            ts = sb.post_message(channel, user, text)
        top.append(ts)
        if i % thread_every == 0 and len(parents) < threads:
            parents.append(ts)
    for n, parent in enumerate(parents):
        for r in range(REPLIES_PER_THREAD):
            sb.post_message(channel, users[(n + r) % len(users)], f"reply {r} in thread {n}",
                            thread_ts=parent)
    plain = [ts for ts in top if ts not in set(parents)]
    for ts in plain[1:EDITS * 7:7][:EDITS]:
        sb.edit_message(channel, ts, "edited: " + ts)
    for ts in plain[3:DELETIONS * 11:11][:DELETIONS]:
        sb.delete_message(channel, ts)
    return parents


def formula(top: int, threads: list[int], people_new: int, files: int,
            stored_copies: int) -> dict[str, int]:
    """The calls one backup should make (see the README's "What each backup costs")."""
    return {
        "slack: conversations.history": math.ceil(top / HISTORY_PAGE),
        "slack: conversations.replies": sum(math.ceil((n + 1) / REPLIES_PAGE) for n in threads),
        "slack: users.info": people_new,
        "slack: files.download": files,
        "slack: auth.test": 1,
        "slack: chat.postMessage": NOTICES,
        "jira: GET /issue/{key}": 1,
        "jira: GET /attachment/{id} + content": 2 * stored_copies,
        "jira: POST /issue/{key}/attachments": 1 + files,
        "jira: DELETE /attachment/{id}": stored_copies,
        "jira: POST /issue/{key}/comment": 1,
    }


def measured(calls: dict[str, dict[str, int]]) -> dict[str, int]:
    slack, jira = calls["slack"], calls["jira"]
    return {
        **{f"slack: {m}": slack.get(m, 0) for m in (
            "conversations.history", "conversations.replies", "users.info", "files.download",
            "auth.test", "chat.postMessage")},
        "jira: GET /issue/{key}": jira.get("GET /issue/{key}", 0),
        "jira: GET /attachment/{id} + content": jira.get("GET /attachment/{id}", 0)
        + jira.get("GET /secure/attachment/{id}/{file}", 0),
        "jira: POST /issue/{key}/attachments": jira.get("POST /issue/{key}/attachments", 0),
        "jira: DELETE /attachment/{id}": jira.get("DELETE /attachment/{id}", 0),
        "jira: POST /issue/{key}/comment": jira.get("POST /issue/{key}/comment", 0),
    }


def top_level(sb: Sandbox, channel: str) -> int:
    return len(sb.messages(channel))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transcript_cost")
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=500)
    parser.add_argument("--more", type=int, default=1000)
    parser.add_argument("--new-replies", type=int, default=100)
    parser.add_argument("--redaction-check", type=int, default=0, metavar="N")
    parser.add_argument("--profile", metavar="PREFIX",
                        help="write cProfile stats of each backup to PREFIX-<kind>.prof")
    args = parser.parse_args(argv)
    info, started = machine_info(), time.monotonic()
    runs: list[dict[str, Any]] = []
    with workdir("irbot-bench-transcript-") as work:
        with backup_stack(work, USERS) as (sb, env, prefect_pid, users):
            key, channel = open_incident(sb, users, args.messages)
            parents = seed_channel(sb, channel, users, args.messages, args.threads)
            # The first backup's own notices come before its read of the history.
            plan = formula(top_level(sb, channel) + 1, [REPLIES_PER_THREAD] * len(parents),
                           USERS, FILES, 0)
            runs.append({"kind": "first", **run_backup(
                sb, env, channel, key, prefect_pid, False,
                args.profile and f"{args.profile}-first.prof"), "formula": plan})
            for i in range(args.more):
                sb.post_message(channel, users[i % USERS], f"later message {i}")
            touched = parents[:args.new_replies]
            for n, parent in enumerate(touched):
                sb.post_message(channel, users[n % USERS], f"late reply {n}", thread_ts=parent)
            plan = formula(top_level(sb, channel) + 1, [REPLIES_PER_THREAD + 1] * len(touched),
                           0, 0, 1)
            runs.append({"kind": "incremental", **run_backup(
                sb, env, channel, key, prefect_pid, False,
                args.profile and f"{args.profile}-incremental.prof"), "formula": plan})
            if args.redaction_check:
                runs += redaction_check(sb, env, users, args.redaction_check, prefect_pid)
        report(runs)
        path = write_results("transcript_cost", {"benchmark": "transcript_cost",
                                                 "machine": info, "config": vars(args),
                                                 "runs": runs,
                                                 "redaction_ratio": redaction_ratio(runs)})
    print(f"Results: {path.relative_to(REPO_ROOT)} ({time.monotonic() - started:.0f} s)")
    return 0 if all("error" not in r for r in runs) else 1


def redaction_check(sb: Sandbox, env: dict[str, str], users: list[str], size: int,
                    prefect_pid: int) -> list[dict[str, Any]]:
    """The same first backup of a `size`-message channel with masking on and off, twice each,
    alternating (a shared machine's load shifts: compare the faster of each pair)."""
    out = []
    for redact in ("true", "false", "true", "false"):
        key, channel = open_incident(sb, users, size)
        for i in range(size):
            sb.post_message(channel, users[i % USERS], f"{PHRASES[i % len(PHRASES)]} (#{i})")
        run = run_backup(sb, {**env, "IRBOT_REDACT_SECRETS": redact}, channel, key,
                         prefect_pid, False)
        out.append({"kind": f"{size:,} messages, redaction {redact}", **run})
    return out


def redaction_ratio(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Masking on vs off, wall and CPU, the faster of each pair (a shared machine's load
    shifts); empty without --redaction-check."""
    pairs = {flag: [r for r in runs if r["kind"].endswith(f"redaction {flag}")]
             for flag in ("true", "false")}
    if not all(pairs.values()):
        return {}
    best = {f"{what}_{flag}_s": min(r[f"flow_{what}_s"] for r in pair)
            for flag, pair in pairs.items() for what in ("wall", "cpu")}
    return {**best, "wall": best["wall_true_s"] / best["wall_false_s"],
            "cpu": best["cpu_true_s"] / best["cpu_false_s"]}


def report(runs: list[dict[str, Any]]) -> None:
    rows = []
    for r in runs:
        ok = r["csv_rows"] == r["expected_rows"] and r["csv_files"] == 1 and "error" not in r
        rows.append([r["kind"], f"{r['csv_rows']:,}", sum(r["calls"]["slack"].values()),
                     sum(r["calls"]["jira"].values()), f"{r['flow_wall_s']:.1f}",
                     f"{r['process_wall_s']:.1f}", f"{r['peak_rss_mb']:.0f}",
                     "ok" if ok else f"MISMATCH {r.get('error', '')}"])
    print(table(["backup", "CSV rows", "Slack calls", "Jira calls", "flow s", "process s",
                 "peak RSS MB", "check"], rows))
    ratio = redaction_ratio(runs)
    if ratio:
        print(f"\nRedaction: flow {ratio['wall_true_s']:.1f} s vs {ratio['wall_false_s']:.1f} s "
              f"without ({ratio['wall']:.2f}x); flow CPU {ratio['cpu_true_s']:.1f} s vs "
              f"{ratio['cpu_false_s']:.1f} s ({ratio['cpu']:.2f}x); the faster of two each")
    with_plan = [r for r in runs if "formula" in r]
    print("\nCalls by method: measured / formula")
    names = list(with_plan[0]["formula"])
    print(table(["method", *(r["kind"] for r in with_plan)],
                [[n, *(f"{measured(r['calls'])[n]} / {r['formula'][n]}" for r in with_plan)]
                 for n in names]))


if __name__ == "__main__":
    raise SystemExit(main())
