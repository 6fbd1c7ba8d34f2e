"""irbot at scale, on this machine: `irbot topology` with a Prefect server on the real
PostgreSQL, two workers and two webhook replicas behind no load balancer but this test, which
sends each request to one replica or the other (or both, as Slack's retries and double clicks
can through a load balancer).

One incident tells the whole story: a channel that becomes an incident while one replica has
it cached as "not an incident"; a modal submitted to both replicas at once; a backup retried
across them; a worker host lost mid-backup and the other worker finishing it; an archive
double-clicked across them. The workers run from directories of their own, not the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from sandbox.driver import Reply, SlackDriver, conversation, form_values, wait_for
from sandbox.signing import slash_command_body
from sandbox.topology import REPO, TopologyProcess, cmdline_of
from tasks.deployments import ALL, AUTOBACKUP, BACKUP, CREATE
from tasks.messages import ARCHIVE_NOW_ACTION
from tasks.runs import past_state_types
from tests.conftest import SIGNING_SECRET
from tests.e2e.support_runs import (
    SETTLED,
    backup_notices,
    command_answer,
    flow_runs,
    run_id_of,
    start_archive,
    unique_title,
    wait_final,
    wait_state,
)
from tests.e2e.support_topology import (
    flow_runs_held,
    gone,
    kill_host,
    run_processes,
    wait_stopped,
)
from tests.support import read_transcript
from webhook.incidents import TTL_SECONDS
from webhook.replies import ALREADY_DECIDED

# Prefect's minimum: a run gone quiet is marked Crashed 90 s after its last beat.
HEARTBEAT_SECONDS = 30
# Holds a backup mid-way (its upload waits out Retry-After) while its worker is killed.
JIRA_RETRY_AFTER = 60
# Nothing here waits for an archive deadline: Archive now is clicked.
ARCHIVE_DELAY_SECONDS = 600


@pytest.fixture(scope="module")
def topology(postgres_database: str, irbot_env: dict[str, str],
             sandbox: Any) -> Iterator[TopologyProcess]:
    """`irbot topology` on this session's PostgreSQL database; the tests' Prefect calls go to
    its server."""
    workdir = Path(tempfile.mkdtemp(prefix="irbot-topology-"))
    env = {**os.environ, **irbot_env,
           "PREFECT_API_DATABASE_CONNECTION_URL": postgres_database,
           "PREFECT_HOME": str(workdir / "prefect"), "PREFECT_LOGGING_LEVEL": "INFO",
           "IRBOT_ARCHIVE_DELAY_SECONDS": str(ARCHIVE_DELAY_SECONDS),
           "IRBOT_RUN_LIMIT": "10",
           "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS)}
    topo = TopologyProcess(workdir, env)
    try:
        topo.start()
        with temporary_settings(updates={PREFECT_API_URL: topo.api_url}):
            # Every backup counted here is one the test asked for, as serve's tests run with
            # IRBOT_AUTO_BACKUP_MINUTES=0 (an operator deletes prefect.yaml's `schedules`).
            with get_client(sync_client=True) as client:
                client.pause_deployment(client.read_deployment_by_name(AUTOBACKUP).id)
            yield topo
    finally:
        if topo.alive():
            topo.stop()
        sandbox.clear_faults()
        print(f"\nirbot topology log: {topo.log}")


@pytest.fixture(scope="module")
def replicas(topology: TopologyProcess, sandbox: Any) -> Iterator[list[SlackDriver]]:
    """A Slack driver per webhook replica."""
    drivers = [SlackDriver(url, SIGNING_SECRET, sandbox) for url in topology.webhook_urls]
    yield drivers
    for driver in drivers:
        driver.close()


def test_workers_run_from_the_installed_package_and_serve_keeps_off(
        topology: TopologyProcess, replicas: list[SlackDriver],
        irbot_env: dict[str, str]) -> None:
    assert len(topology.webhook_urls) == 2 and len(set(topology.webhook_urls)) == 2
    assert len(replicas) == 2
    # The deployments name modules, and nothing of the checkout that deployed them.
    with get_client(sync_client=True) as client:
        deployments = [client.read_deployment_by_name(name) for name in ALL]
    for deployment in deployments:
        assert deployment.work_pool_name == "irbot"
        assert ":" not in (deployment.entrypoint or ""), deployment.entrypoint
        described = json.dumps([deployment.entrypoint, deployment.path,
                                deployment.pull_steps, deployment.job_variables])
        assert str(REPO) not in described, described
    # Each worker works in a directory of its own, away from the checkout.
    workers = topology.workers()
    assert len(workers) == 2
    for worker in workers:
        assert not Path(worker.cwd()).is_relative_to(REPO), worker.cwd()

    # `irbot serve` on the same Prefect server refuses, and takes nothing over.
    serve = [str(Path(sys.executable).with_name("irbot")), "serve", "--port", "0"]
    done = subprocess.run(serve, env={**os.environ, **irbot_env,
                                      "PREFECT_API_URL": topology.api_url},
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "belong to workers" in done.stderr and "prefect deployment delete" in done.stderr
    with get_client(sync_client=True) as client:
        assert all(client.read_deployment_by_name(name).work_pool_name == "irbot"
                   for name in ALL)


@dataclass
class Asked:
    sent: float  # time.monotonic() when the request left
    reply: Reply


class StatusAsker(threading.Thread):
    """Asks one replica `/irbot status` in a channel, again and again, until halted."""

    def __init__(self, url: str, sandbox: Any, user: str, channel: str, name: str) -> None:
        super().__init__(daemon=True)
        self.driver = SlackDriver(url, SIGNING_SECRET, sandbox)
        self.user, self.channel, self.name = user, channel, name
        self.asked: list[Asked] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            sent = time.monotonic()
            self.asked.append(Asked(sent, self.driver.command("status", self.user,
                                                              self.channel, self.name)))
            self.halt.wait(0.3)

    def answers(self) -> list[tuple[float, bool, bool]]:
        """(sent, answered from the cache in the ack, answered as an incident) per request."""
        out = []
        for asked in self.asked:
            assert asked.reply.status == 200, asked.reply
            text = asked.reply.text or self.driver.wait_answer(asked.reply.response_url)["text"]
            out.append((asked.sent, bool(asked.reply.text), "Severity:" in text))
        self.driver.close()
        return out


def test_one_incident_through_two_webhooks_and_two_workers(
        topology: TopologyProcess, replicas: list[SlackDriver], sandbox: Any,
        people: dict[str, str], security: str) -> None:
    a, b = replicas
    alice, bob = people["alice"], people["bob"]
    key = sandbox.jira_create_issue(unique_title("Topology"))
    name = f"incident_channel_{key.lower()}"
    channel = sandbox.add_channel(name, members=[alice, bob])  # made by the bot, not yet ours
    inc = {"channel_id": channel, "name": name, "key": key}

    # Replica A is asked about the channel before, while and after it becomes an incident.
    asker = StatusAsker(topology.webhook_urls[0], sandbox, alice, channel, name)
    asker.start()
    wait_for(lambda: any(x.reply.text for x in list(asker.asked)), timeout=30,
             what="replica A to answer from its cache")

    # The modal, opened through B, submitted to both at once: one incident.
    opened = b.command("create", alice, security, "security")
    assert opened.status == 200, opened
    view = b.opened_view(opened.trigger_id)
    values = form_values(view, {"people": [bob], "case_key": key, "severity": "SEV-2"})
    with ThreadPoolExecutor(2) as pool:
        submitted = list(pool.map(lambda d: d.submit(view, values, alice), (a, b)))
    assert all(s.status == 200 and s.body in ("", {}) for s in submitted), submitted
    wait_for(lambda: any(e["user"] == alice and f"is ready: <#{channel}" in e["text"]
                         for e in sandbox.ephemerals), timeout=120, interval=0.1,
             what="the incident to be ready")
    ready = time.monotonic()
    # B never cached anything: it answers as an incident at once.
    assert "Severity:" in command_answer(b, b.command("status", alice, channel, name))["text"]
    time.sleep(TTL_SECONDS + 3)
    asker.halt.set()
    asker.join(30)
    answers = asker.answers()
    assert any(cached and not incident for sent, cached, incident in answers if sent < ready)
    late = [incident for sent, _, incident in answers if sent >= ready + TTL_SECONDS]
    assert late and all(late), answers  # A's cache is stale for TTL_SECONDS at most
    [create] = flow_runs(CREATE, request_id=view["id"])
    assert wait_final(str(create.id)) == "COMPLETED"

    # A backup asked through A and retried by Slack through B: one run, one backup.
    for i in range(4):
        sandbox.post_message(channel, (alice, bob)[i % 2], f"before the backup {i}")
    body = slash_command_body(text="backup", user_id=alice, user_name=alice, channel_id=channel,
                              channel_name=name, team_id=sandbox.team_id,
                              response_url=sandbox.response_url(),
                              trigger_id=sandbox.new_trigger_id())
    assert a.post(body).status_code == 200 and b.post(body).status_code == 200
    saved = wait_for(lambda: [t for t in backup_notices(sandbox, channel)
                              if t.startswith("Backup saved")], timeout=120,
                     what="the backup to be saved")
    [backup] = flow_runs(BACKUP, channel_id=channel)
    assert wait_final(str(backup.id)) == "COMPLETED" and len(saved) == 1
    assert_exact_transcript(sandbox, inc)

    # A worker's host is lost mid-backup (its upload waiting out Jira's Retry-After): the run
    # goes quiet, is marked Crashed, healed, and the other worker finishes it.
    for i in range(3):
        sandbox.post_message(channel, (bob, alice)[i % 2], f"while a worker dies {i}")
    since = time.time()
    sandbox.inject_fault("jira", f"POST /issue/{key}/attachments", 429, times=1,
                         retry_after=JIRA_RETRY_AFTER)
    assert b.command("backup", bob, channel, name).status == 200
    wait_for(lambda: any(r.status == 429 and r.at >= since and "/attachments" in r.name
                         for r in sandbox.requests("jira")), timeout=120,
             what="the backup to reach Jira and be told to wait")
    run = next(str(r.id) for r in flow_runs(BACKUP, channel_id=channel)
               if str(r.id) != str(backup.id))
    holder = wait_for(lambda: next((w for w in topology.workers() if run in flow_runs_held(w)),
                                   None), timeout=30, what="the worker running the backup")
    # One interpreter per run: Prefect's engine itself, under no workspace supervisor.
    [engine] = [pid for pid, held in run_processes(holder).items() if held == run]
    assert "-m prefect.engine" in cmdline_of(psutil.Process(engine))
    assert not any("workspace_supervisor" in cmdline_of(p) for p in holder.children(True))
    [survivor] = [w for w in topology.workers() if w.pid != holder.pid]
    killed = kill_host(holder)
    wait_stopped(killed)
    assert gone(killed) and topology.alive() and survivor.is_running()
    assert wait_state(run, SETTLED, timeout=HEARTBEAT_SECONDS * 3 + 240) == "COMPLETED"
    assert "CRASHED" in {s.value for s in past_state_types(run)}
    assert survivor.is_running() and topology.workers() == [survivor]  # the survivor did it
    saved = [t for t in backup_notices(sandbox, channel) if t.startswith("Backup saved")]
    assert len(saved) == 2, saved
    assert_exact_transcript(sandbox, inc)

    # The archive, asked through A, its Archive now double-clicked across both: archived once.
    sandbox.post_message(channel, alice, "the last word")
    announcement = start_archive(a, sandbox, alice, inc)
    archive = run_id_of(announcement)
    wait_state(archive, {"PAUSED"}, timeout=120)
    with ThreadPoolExecutor(2) as pool:
        clicks = list(pool.map(lambda d: d.click(channel, announcement, ARCHIVE_NOW_ACTION,
                                                 alice), (a, b)))
    assert all(c.status == 200 for c in clicks), clicks
    wait_for(lambda: sandbox.channel(channel)["is_archived"], timeout=180,
             what="Archive now to archive the channel")
    assert wait_final(archive, timeout=120) == "COMPLETED"
    archived = [r for r in sandbox.requests("slack")
                if r.name == "conversations.archive" and r.params.get("channel") == channel]
    assert len(archived) == 1, archived
    # The click that lost is told so, not shown an error (each replica resumed the same run).
    said = [answer.get("text") for click in clicks for answer in a.answers(click.response_url)]
    assert said == [ALREADY_DECIDED], said
    assert_exact_transcript(sandbox, inc)


def assert_exact_transcript(sandbox: Any, inc: dict[str, Any]) -> None:
    """One CSV on the case, holding every message people posted, each once."""
    stored = list(read_transcript(sandbox, inc["key"])["ts"])
    assert len(stored) == len(set(stored)), stored
    assert set(stored) == set(conversation(sandbox, inc["channel_id"]))


def test_sigterm_stops_every_process(topology: TopologyProcess) -> None:
    started = [p.pid for p in topology.processes()]
    assert topology.stop() == 0, topology.output()[-3000:]
    wait_stopped(started)
    assert gone(started), [pid for pid in started if not gone([pid])]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{topology.api_url}/health", timeout=2)
