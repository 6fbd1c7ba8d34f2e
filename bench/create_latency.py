"""Time from modal submission to a ready incident channel, through `irbot serve` on the sandbox.

"Ready" = the channel exists and its topic holds the Jira case (what a responder clicks into);
the requester's "is ready" message comes a few Slack calls later and is reported too.
Run: `python -m bench.create_latency [runs]` (default 10).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sandbox.driver import SlackDriver, form_values, wait_for
from sandbox.stack import SIGNING_SECRET, LocalStack

RESULTS = Path(__file__).with_name("results")


def one_incident(driver: SlackDriver, stack: LocalStack, user: str, origin: str,
                 invitee: str, n: int) -> tuple[float, float]:
    sb = stack.sandbox
    reply = driver.command("create", user, origin, "security")
    view = driver.opened_view(reply.trigger_id)
    title = f"Latency run {n}"
    values = form_values(view, {"people": [invitee], "title": title, "severity": "SEV-3",
                                "new_case": True})
    started = time.perf_counter()
    driver.submit(view, values, user)
    key = wait_for(lambda: next((i["key"] for i in sb.jira_issues() if i["summary"] == title),
                                None), 60, 0.02, "the Jira case")
    name = f"incident_channel_{key.lower()}"

    def described() -> bool:
        channel = sb.channel_by_name(name)
        return bool(channel and key in (channel.get("topic") or ""))

    wait_for(described, 60, 0.02, "the channel to be described")
    channel_ready = time.perf_counter() - started
    wait_for(lambda: any(name in str(e.get("text")) or f"{key} is ready" in str(e.get("text"))
                         for e in sb.ephemerals), 60, 0.02, "the ready message")
    return channel_ready, time.perf_counter() - started


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with LocalStack(Path(".irbot/bench-create")) as stack:
        sb = stack.sandbox
        alice, bob = sb.add_user("alice"), sb.add_user("bob")
        origin = sb.add_channel("security", members=[alice, bob])
        driver = SlackDriver(stack.webhook_url, SIGNING_SECRET, sb)
        one_incident(driver, stack, alice, origin, bob, 0)  # warm-up: first imports, DB pages
        samples = [one_incident(driver, stack, alice, origin, bob, n) for n in range(1, runs + 1)]
        driver.close()
    ready = [s[0] for s in samples]
    told = [s[1] for s in samples]
    result: dict[str, Any] = {
        "runs": runs,
        "channel_ready_median_s": round(statistics.median(ready), 3),
        "channel_ready_max_s": round(max(ready), 3),
        "requester_told_median_s": round(statistics.median(told), 3),
        "told_over_ready": round(statistics.median(told) / statistics.median(ready), 2),
        "samples_channel_ready_s": [round(x, 3) for x in ready],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "create_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"modal submit → channel ready: median {result['channel_ready_median_s']} s, "
          f"max {result['channel_ready_max_s']} s over {runs} runs; requester told: median "
          f"{result['requester_told_median_s']} s ({result['told_over_ready']}x ready)")


if __name__ == "__main__":
    main()
