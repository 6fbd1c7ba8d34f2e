"""Crash faults: a real child process calls the sandbox and is SIGKILLed at its k-th call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from slack_sdk import WebClient

from sandbox import Sandbox
from sandbox.crash import Client, CrashBook, CrashFault
from sandbox.crash_asgi import outside_call

ROOT = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_SECONDS = 30

# Posts each text in turn and prints it once Slack answered, so stdout says which calls the
# child saw answered.
SLACK_POSTER = """
import sys
from slack_sdk import WebClient
url, token, channel, *texts = sys.argv[1:]
client = WebClient(token=token, base_url=url)
for text in texts:
    client.chat_postMessage(channel=channel, text=text)
    print(text, flush=True)
"""

# One call to each service, then Slack again: four outside calls.
EVERY_SERVICE = """
import sys
import requests
from slack_sdk import WebClient
slack_url, token, jira_url, jira_user, jira_token, pagerduty_url, channel = sys.argv[1:]
slack = WebClient(token=token, base_url=slack_url)
slack.auth_test()
print("slack", flush=True)
requests.get(jira_url + "/rest/api/2/serverInfo", auth=(jira_user, jira_token),
             timeout=10).raise_for_status()
print("jira", flush=True)
requests.post(pagerduty_url, timeout=10, json={
    "routing_key": "k" * 32, "event_action": "trigger", "dedup_key": "crash-test",
    "payload": {"summary": "s", "source": "src", "severity": "info"}}).raise_for_status()
print("pagerduty", flush=True)
slack.chat_postMessage(channel=channel, text="last")
print("slack", flush=True)
"""

JIRA_UPLOADER = """
import sys
import requests
jira_url, user, token, key, *names = sys.argv[1:]
for name in names:
    requests.post(f"{jira_url}/rest/api/2/issue/{key}/attachments", auth=(user, token),
                  headers={"X-Atlassian-Token": "no-check"},
                  files={"file": (name, b"ts,text\\n1.0,hi\\n")}, timeout=10).raise_for_status()
    print(name, flush=True)
"""


@dataclass(frozen=True)
class Child:
    pid: int
    returncode: int
    stdout: str
    stderr: str


def run_child(script: str, *args: str) -> Child:
    with subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, cwd=ROOT) as proc:
        try:
            out, err = proc.communicate(timeout=CHILD_TIMEOUT_SECONDS)
        finally:
            if proc.poll() is None:
                proc.kill()
        return Child(proc.pid, proc.returncode, out, err)


def post_in_child(sb: Sandbox, channel: str, *texts: str) -> Child:
    return run_child(SLACK_POSTER, sb.slack_api_url, sb.bot_token, channel, *texts)


def answered(proc: Child) -> list[str]:
    return proc.stdout.split()


def texts(sb: Sandbox, channel: str) -> list[str]:
    return [m["text"] for m in sb.messages(channel)]


def still_serving(sb: Sandbox) -> bool:
    return bool(WebClient(token=sb.bot_token, base_url=sb.slack_api_url).auth_test()["ok"])


def test_before_kills_the_client_and_nothing_is_stored(sb: Sandbox) -> None:
    cid = sb.add_channel("inc")
    sb.inject_crash("slack", "chat.postMessage", at_call=2, when="before")
    proc = post_in_child(sb, cid, "one", "two", "three")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert answered(proc) == ["one"]
    assert texts(sb, cid) == ["one"]
    assert [r.params["text"] for r in sb.requests("slack", "chat.postMessage")] == ["one"]
    [crash] = sb.crashes()
    assert (crash.service, crash.name, crash.when, crash.call) == (
        "slack", "chat.postMessage", "before", 2)
    assert (crash.pid, crash.killed, crash.reason) == (proc.pid, True, "")
    assert still_serving(sb)
    sb.post_message(cid, sb.add_user("alice"), "after the crash")
    assert texts(sb, cid) == ["one", "after the crash"]


def test_after_applies_and_records_then_kills_before_the_answer(sb: Sandbox) -> None:
    cid = sb.add_channel("inc")
    sb.inject_crash("slack", "chat.postMessage", at_call=2, when="after")
    proc = post_in_child(sb, cid, "one", "two", "three")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert answered(proc) == ["one"]  # "two" was stored, but its answer never arrived
    assert texts(sb, cid) == ["one", "two"]
    recorded = sb.requests("slack", "chat.postMessage")
    assert [(r.params["text"], r.status) for r in recorded] == [("one", 200), ("two", 200)]
    [crash] = sb.crashes()
    assert (crash.when, crash.call, crash.pid, crash.killed) == ("after", 2, proc.pid, True)
    assert still_serving(sb)


def test_service_star_counts_every_outside_call(sb: Sandbox) -> None:
    cid = sb.add_channel("inc")
    sb.inject_crash("*", "*", at_call=3, when="after")
    proc = run_child(EVERY_SERVICE, sb.slack_api_url, sb.bot_token, sb.jira_url, sb.jira_user,
                     sb.jira_token, sb.pagerduty_url, cid)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert answered(proc) == ["slack", "jira"]
    assert [e["dedup_key"] for e in sb.pagerduty_events] == ["crash-test"]  # applied
    assert texts(sb, cid) == []
    [crash] = sb.crashes()
    assert (crash.service, crash.name, crash.call) == ("pagerduty", "POST /v2/enqueue", 3)


def test_jira_attachment_stored_when_killed_after(sb: Sandbox) -> None:
    key = sb.jira_create_issue("case")
    sb.inject_crash("jira", r"POST /rest/api/2/issue/[^/]+/attachments$", at_call=2,
                    when="after")
    proc = run_child(JIRA_UPLOADER, sb.jira_url, sb.jira_user, sb.jira_token, key,
                     "a.csv", "b.csv", "c.csv")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert answered(proc) == ["a.csv"]
    assert [a["filename"] for a in sb.jira_issue(key)["attachments"]] == ["a.csv", "b.csv"]


def test_jira_before_leaves_the_case_untouched(sb: Sandbox) -> None:
    key = sb.jira_create_issue("case")
    sb.inject_crash("jira", r"POST /attachments$", at_call=1, when="before")
    proc = run_child(JIRA_UPLOADER, sb.jira_url, sb.jira_user, sb.jira_token, key, "a.csv")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert sb.jira_issue(key)["attachments"] == []
    assert sb.requests("jira") == []  # a request that never took effect is not "received"
    assert sb.crashes()[0].name == f"POST /rest/api/2/issue/{key}/attachments"


def test_from_pid_counts_only_that_process_tree(sb: Sandbox) -> None:
    """The test's own calls do not count; a grandchild of the scoped process is killed."""
    cid = sb.add_channel("inc")
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys; sys.stdin.readline(); "
         "print(subprocess.run([sys.executable, '-c', *sys.argv[1:]]).returncode, flush=True)",
         SLACK_POSTER, sb.slack_api_url, sb.bot_token, cid, "child-1", "child-2"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        sb.inject_crash("slack", "chat.postMessage", at_call=2, when="before",
                        from_pid=parent.pid)
        slack = WebClient(token=sb.bot_token, base_url=sb.slack_api_url)
        for text in ("mine-1", "mine-2", "mine-3"):  # outside the scope: not counted
            slack.chat_postMessage(channel=cid, text=text)
        out, _ = parent.communicate("go\n", timeout=CHILD_TIMEOUT_SECONDS)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert parent.returncode == 0
    assert out.split() == ["child-1", str(-signal.SIGKILL)]  # the grandchild shares stdout
    assert texts(sb, cid) == ["mine-1", "mine-2", "mine-3", "child-1"]
    [crash] = sb.crashes()
    assert crash.killed and crash.pid not in (parent.pid, os.getpid())


def test_a_fault_not_yet_due_counts_the_calls_it_matched(sb: Sandbox) -> None:
    """What bench.crash_matrix calibrates with: how many outside calls a process made."""
    cid = sb.add_channel("inc")
    sb.inject_crash("*", "*", at_call=1_000, when="before")
    proc = run_child(EVERY_SERVICE, sb.slack_api_url, sb.bot_token, sb.jira_url, sb.jira_user,
                     sb.jira_token, sb.pagerduty_url, cid)
    assert proc.returncode == 0, proc.stderr
    [pending] = sb.pending_crashes()
    assert (pending.seen, pending.at_call) == (4, 1_000)
    pending.seen = 0  # a copy: the sandbox's own count is untouched
    assert sb.pending_crashes()[0].seen == 4 and sb.crashes() == []


def test_never_kills_the_sandbox_process(sb: Sandbox) -> None:
    cid = sb.add_channel("inc")
    sb.inject_crash("slack", "chat.postMessage", at_call=1, when="after")
    response = httpx.post(sb.slack_api_url + "chat.postMessage",
                          headers={"Authorization": f"Bearer {sb.bot_token}"},
                          data={"channel": cid, "text": "from pytest"})
    assert response.status_code == 500
    assert "sandbox's own process" in response.text
    assert texts(sb, cid) == []  # refused before it took effect, whatever `when` said
    [crash] = sb.crashes()
    assert (crash.pid, crash.killed) == (os.getpid(), False)
    assert "own process" in crash.reason
    assert still_serving(sb)  # one-shot: the refusal consumed it


def test_never_kills_a_process_the_sandbox_runs_under() -> None:
    """The sandbox in a process of its own (`python -m sandbox`) is asked to kill its parent."""
    from sandbox.peers import refusal

    assert "ancestor" in str(refusal(os.getppid()))
    assert "own process" in str(refusal(os.getpid()))


def test_crashes_are_listed_and_cleared(sb: Sandbox) -> None:
    cid = sb.add_channel("inc")
    sb.inject_crash("slack", "chat.postMessage", at_call=1, when="after")
    proc = post_in_child(sb, cid, "one", "two")
    assert proc.returncode == -signal.SIGKILL
    assert texts(sb, cid) == ["one"]
    assert sb.crashes()[0].when == "after"

    sb.inject_crash("slack", "chat.postMessage", at_call=1)
    sb.clear_faults()  # crash faults too
    assert post_in_child(sb, cid, "three").returncode == 0
    assert texts(sb, cid) == ["one", "three"]

    sb.reset_requests()  # forgets crashes along with requests
    assert sb.crashes() == []
    with pytest.raises(ValueError, match="at_call"):
        sb.inject_crash("slack", "*", at_call=0)


@pytest.mark.parametrize(("args", "message"), [
    (("smtp", "*", 1), "unknown service"),
    (("*", "chat.postMessage", 1), "target must be '\\*'"),
    (("slack", "*", 0), "at_call"),
    (("jira", "POST", 1), "METHOD path-regex"),
    (("jira", "POST (", 1), "unterminated|missing"),
])
def test_bad_crash_faults_are_refused_at_injection(sb: Sandbox, args: tuple[str, str, int],
                                                  message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sb.inject_crash(*args)  # type: ignore[arg-type]
    assert sb.requests() == [] and still_serving(sb)


def test_a_bad_when_is_refused(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="when"):
        sb.inject_crash("slack", "*", at_call=1, when="during")  # type: ignore[arg-type]


# --- pure bookkeeping ----------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("POST", "/slack/api/chat.postMessage", ("slack", "chat.postMessage")),
    ("POST", "/slack/response/abc", ("slack", "response_url")),
    ("GET", "/jira/rest/api/2/serverInfo", ("jira", "GET /rest/api/2/serverInfo")),
    ("POST", "/pagerduty/v2/enqueue", ("pagerduty", "POST /v2/enqueue")),
    ("GET", "/_control/requests", None),
    ("GET", "/_health", None),
    ("GET", "/jirafe", None),
])
def test_outside_call_names_requests_as_the_emulators_record_them(
        method: str, path: str, expected: tuple[str, str] | None) -> None:
    assert outside_call(method, path) == expected


def test_book_counts_matches_fires_once_and_first_injected_wins() -> None:
    book = CrashBook()
    first = CrashFault("slack", "chat.postMessage", at_call=2, when="before")
    second = CrashFault("*", "*", at_call=3, when="after")
    book.add(first)
    book.add(second)
    assert book.arrive("slack", "auth.test", None) is None  # counted by `second` only
    assert book.arrive("slack", "chat.postMessage", None) is None
    assert book.arrive("slack", "chat.postMessage", None) is first  # both due: first wins
    assert book.pending() == [second]
    assert book.arrive("jira", "GET /x", None) is second  # overdue: fires on its next match
    assert book.pending() == [] and book.arrive("slack", "chat.postMessage", None) is None


def test_book_scope_needs_and_uses_the_client() -> None:
    book = CrashBook()
    book.add(CrashFault("slack", "*", at_call=1, when="before", from_pid=100))
    assert book.needs_client("slack", "auth.test") and not book.needs_client("jira", "GET /x")
    assert book.arrive("slack", "auth.test", None) is None  # unknown sender: not in scope
    assert book.arrive("slack", "auth.test", Client(7, frozenset({1}))) is None
    assert book.arrive("slack", "auth.test", Client(300, frozenset({1, 100}))) is not None
