"""Helpers for end-to-end tests: Prefect runs, incidents opened in parallel, Slack message lookups.

Not a test module: imported by the e2e tests.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any
from uuid import UUID

import psutil
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort

from sandbox.driver import SlackDriver, form_values, wait_for
from tasks.deployments import flow_of
from tests.conftest import ServeProcess

FINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}
# Where a run that may crash ends: CRASHED is not among them, the heal automation moves it on.
SETTLED = FINAL - {"CRASHED"}
_SLACK_DATE = re.compile(r"<!date\^(\d+)\^")


def read_run(run_id: str) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(run_id))


def run_state(run_id: str) -> str | None:
    run = read_run(run_id)
    return run.state.type.value if run.state else None


def wait_state(run_id: str, wanted: set[str], timeout: float = 60) -> str:
    """Poll the run until its state type is one of `wanted`; returns it."""
    return wait_for(lambda: (lambda s: s if s in wanted else None)(run_state(run_id)),
                    timeout=timeout, interval=0.3, what=f"run {run_id} to reach {wanted}")


def wait_final(run_id: str, timeout: float = 60) -> str:
    return wait_state(run_id, FINAL, timeout)


def flow_runs(deployment: str, **params: Any) -> list[FlowRun]:
    """Runs of a deployment's flow (tasks.deployments) whose parameters include `params`
    (newest first)."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_of(deployment)])),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=200)
    return [r for r in runs if all(r.parameters.get(k) == v for k, v in params.items())]


def slack_epoch(text: str) -> int:
    """The Unix time in the first `<!date^…>` of a Slack text."""
    found = _SLACK_DATE.search(text)
    assert found, f"no <!date^…> in {text!r}"
    return int(found.group(1))


def has_buttons(message: dict[str, Any]) -> bool:
    return any(b.get("type") == "actions" for b in message.get("blocks") or [])


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks") or [] if b.get("type") == "actions"
            for e in b.get("elements") or []]


def message_at(sandbox: Any, channel: str, ts: str) -> dict[str, Any]:
    return next(m for m in sandbox.messages(channel) if m["ts"] == ts)


def wait_text(sandbox: Any, channel: str, needle: str, timeout: float = 60) -> dict[str, Any]:
    """The first message in the channel whose (possibly updated) text contains `needle`."""
    return wait_for(lambda: next((m for m in sandbox.messages(channel)
                                  if needle in (m.get("text") or "")), None),
                    timeout=timeout, interval=0.2, what=f"a message saying {needle!r}")


def open_incidents(driver: SlackDriver, sandbox: Any, user: str, origin: str,
                   fills: list[dict[str, Any]], timeout: float = 90) -> list[dict[str, Any]]:
    """Create several incidents through the modal at once; wait until all are ready.

    Each fill needs a unique "title": the Jira case is found by its summary.
    """
    for fill in fills:
        reply = driver.command("create", user, origin, "security")
        assert reply.status == 200, reply
        view = driver.opened_view(reply.trigger_id)
        answer = driver.submit(view, form_values(view, fill), user)
        assert answer.status == 200 and answer.body in ("", {}), answer
    opened = []
    deadline = time.monotonic() + timeout
    for fill in fills:
        left = max(deadline - time.monotonic(), 1)
        issue = wait_for(lambda f=fill: next((i for i in sandbox.jira_issues()
                                              if i["summary"] == f["title"]), None),
                         timeout=left, what=f"the Jira case for {fill['title']!r}")
        key = issue["key"]
        name = f"incident_channel_{key.lower()}"
        left = max(deadline - time.monotonic(), 1)
        channel = wait_for(lambda n=name: sandbox.channel_by_name(n), timeout=left,
                           what=f"channel {name}")
        left = max(deadline - time.monotonic(), 1)
        wait_for(lambda c=channel["id"]: next((e for e in sandbox.ephemerals
                                               if e["user"] == user
                                               and f"is ready: <#{c}" in e["text"]), None),
                 timeout=left, what=f"{key} to be ready")
        exec_ch = sandbox.channel_by_name(name + "_exec")
        opened.append({"channel_id": channel["id"], "name": name, "key": key,
                       "title": fill["title"],
                       "exec_channel_id": exec_ch["id"] if exec_ch else None,
                       "exec_name": exec_ch["name"] if exec_ch else None})
    return opened


def unique_title(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:8]}"


def command_answer(driver: SlackDriver, reply: Any, timeout: float = 30) -> dict[str, Any]:
    """The answer to a slash command, in the ack body or (later) on its response_url."""
    assert reply.status == 200, reply
    if reply.text:
        return reply.body if isinstance(reply.body, dict) else {"text": reply.body}
    return driver.wait_answer(reply.response_url, timeout=timeout)


def start_archive(driver: SlackDriver, sandbox: Any, user: str, inc: dict[str, Any],
                  previous_ts: str | None = None, interval: float = 0.2) -> dict[str, Any]:
    """`/irbot archive`, then the announcement (the newest message with buttons)."""
    reply = driver.command("archive", user, inc["channel_id"], inc["name"])
    assert reply.status == 200, reply
    return wait_announcement(sandbox, inc["channel_id"], previous_ts, interval)


def wait_announcement(sandbox: Any, channel: str, previous_ts: str | None = None,
                      interval: float = 0.2, timeout: float = 45) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for msg in reversed(sandbox.messages(channel)):
            if has_buttons(msg) and msg["ts"] != previous_ts:
                return dict(msg)
        return None
    return wait_for(find, timeout=timeout, interval=interval, what="the archive announcement")


def run_id_of(announcement: dict[str, Any]) -> str:
    values = {str(b["value"]) for b in buttons(announcement)}
    assert len(values) == 1, values
    run_id = values.pop()
    UUID(run_id)
    return run_id


def runner_process(serve: ServeProcess) -> psutil.Process:
    """The runner (`python -m flows.runner`) under `irbot serve`: every flow run is its child."""
    assert serve.proc is not None
    for child in psutil.Process(serve.proc.pid).children():
        if "flows.runner" in " ".join(child.cmdline()):
            return child
    raise AssertionError("irbot serve has no runner")


BACKUP_OUTCOMES = ("Backup saved", "Nothing new", "Backup failed")


def backup_notices(sandbox: Any, channel: str) -> list[str]:
    """irbot's own (metadata-marked) posts in the channel, oldest first."""
    return [m["text"] for m in sandbox.messages(channel) if m.get("metadata")]


def run_backup(driver: SlackDriver, sandbox: Any, user: str, inc: dict[str, Any]) -> str:
    """`/irbot backup` in the incident channel; the outcome notice it posts."""
    done_before = len([t for t in backup_notices(sandbox, inc["channel_id"])
                       if t.startswith(BACKUP_OUTCOMES)])
    reply = driver.command("backup", user, inc["channel_id"], inc["name"])
    assert reply.status == 200
    return wait_for(lambda: ([t for t in backup_notices(sandbox, inc["channel_id"])
                              if t.startswith(BACKUP_OUTCOMES)]
                             [done_before:] or [None])[0], timeout=60, what="backup outcome")
