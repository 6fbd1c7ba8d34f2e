"""Issue 14, end to end: a seeded fuzz of signed malformed requests against an `irbot serve` of
its own (its own local Prefect server and sandbox, so that it is idle otherwise and any run or
Slack write during the fuzz can only have come from the fuzz)."""

from __future__ import annotations

import os
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sandbox import Sandbox
from sandbox.malformed import Origin, malformed_requests
from sandbox.stack import ServeProcess, irbot_settings
from tests.conftest import SIGNING_SECRET
from webhook.local_prefect import free_port

SEED = 1414
REQUESTS = 300
SLOWEST_ALLOWED_S = 1.0
SLACK_READS = {"auth.test", "response_url"}  # all Slack may see of a malformed request


@dataclass
class OwnServe:
    base: str
    prefect_api: str
    sandbox: Sandbox
    log: Path


@pytest.fixture(scope="module")
def own_serve() -> Iterator[OwnServe]:
    """`irbot serve` with no PREFECT_API_URL, so it starts (and stops) its own Prefect server."""
    home = Path(tempfile.mkdtemp(prefix="irbot-fuzz-"))
    with Sandbox() as sb:
        env = {**os.environ, **irbot_settings(sb, 3600, SIGNING_SECRET),
               "PREFECT_HOME": str(home / "prefect"), "IRBOT_PREFECT_PORT": str(free_port()),
               "PREFECT_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "INFO"}
        env.pop("PREFECT_API_URL", None)
        serve = ServeProcess(env, home / "irbot-serve.log", timeout=150)
        try:
            serve.start()
            started = re.search(r"started a local Prefect server: (\S+)",
                                serve.log_path.read_text())
            assert started, "irbot serve did not start its own Prefect server"
            yield OwnServe(serve.base, f"{started.group(1)}/api", sb, serve.log_path)
        finally:
            serve.stop()
            print(f"\nfuzz irbot serve log: {serve.log_path}")


def flow_run_count(api: str) -> int:
    resp = httpx.post(f"{api}/flow_runs/count", json={}, timeout=10)
    resp.raise_for_status()
    return int(resp.json())


def test_signed_malformed_requests_get_a_prompt_4xx_and_start_nothing(own_serve: OwnServe) -> None:
    sb = own_serve.sandbox
    user = sb.add_user("fuzzer", "Fuzz Tester")
    channel = sb.add_channel("fuzzing", members=[user])
    corpus = malformed_requests(random.Random(SEED), REQUESTS,
                                Origin(sb, SIGNING_SECRET, user, channel))
    runs_before = flow_run_count(own_serve.prefect_api)
    statuses: Counter[int] = Counter()
    crashes: list[tuple[str, int]] = []
    slowest = (0.0, "")
    with httpx.Client(timeout=10) as http:
        for request in corpus:
            started = time.perf_counter()
            resp = http.post(f"{own_serve.base}/slack/events", content=request.body,
                             headers=request.headers)
            elapsed = time.perf_counter() - started
            statuses[resp.status_code] += 1
            slowest = max(slowest, (elapsed, request.kind))
            if resp.status_code >= 500:
                crashes.append((request.kind, resp.status_code))
    time.sleep(2.0)  # listeners finish their work after the ack; a run would be created by now

    print(f"\nfuzz: {REQUESTS} requests, statuses {dict(sorted(statuses.items()))}, "
          f"slowest {slowest[0] * 1000:.0f} ms ({slowest[1]})")
    assert crashes == []
    assert set(statuses) <= {200, 400, 401, 404, 413}, statuses
    assert statuses[200] < REQUESTS / 2 and statuses[400] > 0  # the corpus is mostly refused
    assert slowest[0] < SLOWEST_ALLOWED_S, slowest
    assert flow_run_count(own_serve.prefect_api) == runs_before
    assert {r.name for r in sb.requests("slack")} <= SLACK_READS
    # `irbot serve`'s start-up check reads Jira (GET /myself, …); nothing may be written.
    assert [r.name for r in sb.requests("jira") if r.http_method != "GET"] == []
    assert sb.pagerduty_events == []
    assert httpx.get(f"{own_serve.base}/health", timeout=5).status_code == 200
    log = own_serve.log.read_text(errors="replace")
    assert "Traceback" not in log, log[log.find("Traceback") - 500:][:3000]
    # Refusals are logged without the body: no secret, token or response_url reaches the log.
    for secret in (SIGNING_SECRET, sb.bot_token, sb.jira_token, "sandbox-verification-token",
                   "/slack/response/"):
        assert secret not in log, secret
