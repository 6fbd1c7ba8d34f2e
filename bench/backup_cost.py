"""The cost of one backup as the incident channel grows: API calls by method, time, memory.

For each size (1,000 / 5,000 / 10,000 messages by 100 users, on the sandbox) a fresh incident
gets a full backup, then 100 more messages and an incremental backup. Each backup runs
flows.backup.backup_incident in a process of its own (bench.backup_run), as the runner does.

    python -m bench.backup_cost [--sizes 1000 5000 10000] [--users 100] [--increment 100]

Results go to bench/results/backup_cost.json.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from bench.backup_run import RESULT_MARKER
from bench.common import (
    REPO_ROOT,
    cpu_seconds,
    irbot_env,
    machine_info,
    prefect_server,
    set_prefect_env,
    table,
    workdir,
    write_results,
)
from sandbox import Sandbox

RUN_TIMEOUT_S = 150.0
# Ordinary incident chatter, of ordinary length; a few lines start like spreadsheet formulas
# ("+1", "-", "=") so the neutralising pass has something to do, as in real channels.
PHRASES = (
    "checked the load balancer logs, nothing unusual in the last hour",
    "restarting the payment workers in eu-west-1 now",
    "customer reports are coming in from the status page &amp; support queue",
    "rollback of release 2024.11.3 is done, error rate dropping",
    "can someone from the database team look at replication lag on db-7?",
    "I'm drafting the customer communication, will share in five minutes",
    "the canary is green again; keeping the feature flag off until tomorrow",
    "+1",
    "-- timeline: 14:02 first alert, 14:05 paged on-call, 14:11 mitigation started",
    "=this is not a formula, just someone typing an equals sign first",
)
BOT_EVERY = 200  # an alerting integration speaks now and then
MENTION_EVERY = 7
REPLY_EVERY = 10  # thread replies: read with conversations.replies (see the report)


def seed(sb: Sandbox, channel: str, users: list[str], count: int, start: int) -> None:
    """`count` messages, deterministic, round-robin over the users."""
    parent = None
    for i in range(start, start + count):
        user = users[i % len(users)]
        text = f"{PHRASES[i % len(PHRASES)]} (#{i})"
        if i % MENTION_EVERY == 3:
            text = f"<@{users[(i * 31) % len(users)]}> {text}"
        if i % BOT_EVERY == 199:
            sb.post_bot_message(channel, "Monitoring", f"ALERT resolved: {text}")
        elif i % REPLY_EVERY == 5 and parent is not None:
            sb.post_message(channel, user, text, thread_ts=parent)
        else:
            parent = sb.post_message(channel, user, text)


def open_incident(sb: Sandbox, users: list[str], size: int,
                  summary: str | None = None) -> tuple[str, str]:
    """What flows/create.py leaves behind: channel, Jira case, state Block and lock."""
    from tasks.state import IncidentState, create_lock, save_incident

    key = sb.jira_create_issue(summary or f"Benchmark incident, {size} messages")
    name = f"incident_channel_{key.lower()}"
    channel = sb.add_channel(name, users)
    create_lock(channel)  # before the state, as the create flow does
    save_incident(IncidentState(
        case_key=key, case_url=f"{sb.jira_url}/browse/{key}", title=f"bench {size}",
        severity="SEV2", channel_id=channel, channel_name=name, created_by=users[0],
        created_at=datetime.now(UTC)))
    return key, channel


def jira_method(name: str) -> str:
    """"GET /rest/api/2/attachment/10007" → "GET /attachment/{id}": one row per endpoint."""
    name = name.replace("/rest/api/2", "")
    name = re.sub(r"/secure/attachment/\d+/.*", "/secure/attachment/{id}/{file}", name)
    name = re.sub(r"/[A-Z][A-Z0-9_]*-\d+(?=/|$)", "/{key}", name)
    return re.sub(r"/\d+(?=/|$)", "/{id}", name)


def calls(sb: Sandbox) -> dict[str, dict[str, int]]:
    slack = Counter(r.name for r in sb.requests("slack"))
    jira = Counter(jira_method(r.name) for r in sb.requests("jira"))
    return {"slack": dict(sorted(slack.items())), "jira": dict(sorted(jira.items()))}


def transcript(sb: Sandbox, key: str) -> tuple[int, pd.DataFrame | None, int]:
    """(CSV files on the case, the newest as read back, its size in bytes)."""
    files = [a for a in sb.jira_issue(key)["attachments"] if a["filename"].endswith(".csv")]
    if not files:
        return 0, None, 0
    content = files[-1]["content"]
    frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)
    return len(files), frame, len(content)


def transcript_rows(sb: Sandbox, key: str) -> tuple[int, int, int]:
    """(CSV files on the case, rows in the newest, its size in bytes)."""
    files, frame, size = transcript(sb, key)
    return files, 0 if frame is None else len(frame), size


def expected_ts(sb: Sandbox, channel: str) -> list[str]:
    """Messages and thread replies except irbot's own: what the transcript should hold."""
    return [m["ts"] for m in sb.messages(channel, include_replies=True)
            if not m.get("metadata") and m.get("bot_id") != sb.bot_id
            and m.get("user") != sb.bot_user_id]


def expected_rows(sb: Sandbox, channel: str) -> int:
    return len(expected_ts(sb, channel))


def run_backup(sb: Sandbox, env: dict[str, str], channel: str, key: str, prefect_pid: int,
               use_tracemalloc: bool, profile: str | None = None,
               timeout: float = RUN_TIMEOUT_S) -> dict[str, Any]:
    sb.reset_requests()
    args = [sys.executable, "-m", "bench.backup_run", channel]
    if profile:
        args += ["--profile", profile]
    if use_tracemalloc:
        args.append("--tracemalloc")
    pcpu0 = cpu_seconds(prefect_pid)
    t0 = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)
    process_s = time.perf_counter() - t0
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_MARKER)), None)
    if line is None:
        raise RuntimeError(f"backup_run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(line[len(RESULT_MARKER):])
    files, rows, csv_bytes = transcript_rows(sb, key)
    out.update(process_wall_s=process_s, prefect_server_cpu_s=cpu_seconds(prefect_pid) - pcpu0,
               calls=calls(sb), csv_files=files, csv_rows=rows, csv_bytes=csv_bytes,
               expected_rows=expected_rows(sb, channel))
    return out


def short(method: str) -> str:
    return method.replace("conversations.", "conv.")


def report(runs: list[dict[str, Any]], nproc: int | None) -> None:
    rows = []
    for r in runs:
        ok = "ok" if r["csv_rows"] == r["expected_rows"] and r["csv_files"] == 1 \
            and "error" not in r else f"MISMATCH {r.get('error', '')}"
        rows.append([f"{r['messages']:,} {r['kind']}", f"{r['new_messages']:,}",
                     f"{r['csv_rows']:,}", f"{r['csv_bytes'] / 2**20:.1f}",
                     sum(r["calls"]["slack"].values()), sum(r["calls"]["jira"].values()),
                     f"{r['flow_wall_s']:.1f}", f"{sum(r['task_s'].values()):.1f}",
                     f"{r['process_wall_s']:.1f}",
                     f"{r['peak_rss_mb']:.0f}",
                     f"{r['peak_rss_mb'] - r['rss_after_import_mb']:.0f}",
                     f"{r['prefect_server_cpu_s']:.1f}", ok])
    print()
    print(table(["channel / backup", "new rows", "CSV rows", "CSV MB", "Slack calls",
                 "Jira calls", "flow s", "in tasks s", "process s", "peak RSS MB",
                 "RSS over import", "Prefect cpu s", "check"], rows))
    methods = sorted({("slack", m) for r in runs for m in r["calls"]["slack"]}
                     | {("jira", m) for r in runs for m in r["calls"]["jira"]})
    by_method = [[f"{svc}: {short(m)}", *(r["calls"][svc].get(m, 0) for r in runs)]
                 for svc, m in methods]
    print("\nCalls by method (each column one backup run)")
    print(table(["method", *(f"{r['messages'] // 1000}k {r['kind'][:4]}" for r in runs)],
                by_method))
    print("\nflow s: backup_incident() inside its process; in tasks s: the part spent inside its "
          "Prefect tasks (the Slack/Jira calls; the rest is Prefect's engine, state Block reads "
          "and writes, the lock, and the pandas merge); process s: the whole process, incl. the "
          "python + prefect import a runner pays per run. peak RSS: ru_maxrss of that process; "
          "'over import': minus its high-water mark after the imports.")
    print(f"Note: shared {nproc}-core machine, sandbox in the benchmark process: times are "
          "upper bounds; call counts are exact.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backup_cost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--increment", type=int, default=100,
                        help="messages added before the incremental backup")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also report Python's allocation peak (slows the backups)")
    args = parser.parse_args(argv)
    info = machine_info()
    started = time.monotonic()
    runs: list[dict[str, Any]] = []

    with workdir("irbot-bench-backup-") as work:
        api = set_prefect_env(work)
        with Sandbox() as sb, prefect_server(work) as prefect:
            env = irbot_env(sb, api)
            users = [sb.add_user(f"responder{i:03d}", f"Responder {i}")
                     for i in range(args.users)]
            print(f"sandbox {sb.url}, Prefect {api} (set-up {time.monotonic() - started:.0f} s)",
                  flush=True)
            for size in args.sizes:
                key, channel = open_incident(sb, users, size)
                seed(sb, channel, users, size, 0)
                for kind, added in (("full", size), ("incremental", args.increment)):
                    if kind == "incremental":
                        seed(sb, channel, users, added, size)
                    run = run_backup(sb, env, channel, key, prefect.pid, args.tracemalloc)
                    run.update(messages=size, kind=kind, added=added,
                               new_messages=run.get("result", {}).get("new_messages", 0))
                    runs.append(run)
                    print(f"  {size:>6,} {kind:<11} flow {run['flow_wall_s']:5.1f} s  "
                          f"peak RSS {run['peak_rss_mb']:4.0f} MB  "
                          f"Slack {sum(run['calls']['slack'].values()):4}  "
                          f"Jira {sum(run['calls']['jira'].values()):3}"
                          + (f"  ERROR {run['error']}" if "error" in run else ""), flush=True)
        report(runs, info["nproc"])
        path = write_results("backup_cost", {
            "benchmark": "backup_cost",
            "machine": info,
            "config": vars(args),
            "runs": runs,
            "wall_s": round(time.monotonic() - started, 1),
        })
    print(f"Results: {path.relative_to(REPO_ROOT)} ({time.monotonic() - started:.0f} s)")
    return 0 if all("error" not in r for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
