"""The control API through RemoteSandbox, and `python -m sandbox` as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from jira import JIRA
from slack_sdk import WebClient

from sandbox import RemoteSandbox, Sandbox

ROOT = Path(__file__).resolve().parents[2]


def test_remote_mirrors_local(sb: Sandbox) -> None:
    with RemoteSandbox(sb.url) as remote:
        assert remote.slack_api_url == sb.slack_api_url
        assert remote.bot_user_id == sb.bot_user_id
        alice = remote.add_user("alice", real_name="Alice A")
        cid = remote.add_channel("inc", [alice])
        parent = remote.post_message(cid, alice, "hello")
        remote.post_message(cid, alice, "reply", thread_ts=parent)
        remote.post_bot_message(cid, "grafana", "alert")
        assert [m["text"] for m in remote.messages(cid)] == ["hello", "alert"]
        assert len(remote.messages(cid, include_replies=True)) == 3
        assert remote.channel(cid)["members"] == [alice, sb.bot_user_id]
        assert remote.channel_by_name("inc") == sb.channel(cid)
        assert remote.channel_by_name("nope") is None
        with pytest.raises(KeyError):
            remote.channel("C0NOPE")
        with pytest.raises(ValueError):
            remote.post_message(cid, "U0NOBODY", "x")

        slack = WebClient(token=remote.bot_token, base_url=remote.slack_api_url)
        remote.inject_fault("slack", "auth.test", 200, body={"ok": False, "error": "x"})
        assert httpx.post(remote.slack_api_url + "auth.test").json()["error"] == "x"
        slack.chat_postEphemeral(channel=cid, user=alice, text="psst")
        assert remote.ephemerals[0]["text"] == "psst"
        view = slack.views_open(trigger_id=remote.new_trigger_id(alice),
                                view={"type": "modal", "title": {"type": "plain_text",
                                      "text": "t"}, "blocks": []})["view"]
        assert remote.views[view["id"]]["user"] == alice
        url = remote.response_url()
        httpx.post(url, json={"text": "done"})
        assert remote.responses == [{"url": url, "body": {"text": "done"}}]

        key = remote.jira_create_issue("seeded")
        jira = JIRA(server=remote.jira_url, basic_auth=(remote.jira_user, remote.jira_token),
                    get_server_info=False, max_retries=0, timeout=10)
        jira.add_attachment(key, BytesIO(b"bytes"), filename="f.csv")
        issue = remote.jira_issue(key)
        assert issue["attachments"][0]["content"] == b"bytes"
        assert issue["attachments"][0]["content_url"].startswith(remote.jira_url)
        assert [i["key"] for i in remote.jira_issues()] == [key]

        httpx.post(remote.pagerduty_url, json={"routing_key": "k" * 32,
                                               "event_action": "acknowledge",
                                               "dedup_key": "d"})
        assert remote.pagerduty_events[0]["dedup_key"] == "d"

        names = [r.name for r in remote.requests("slack")]
        assert names == ["auth.test", "chat.postEphemeral", "views.open", "response_url"]
        assert remote.requests("control", "POST /users")[0].params["name"] == "alice"
        remote.reset_requests()
        assert remote.requests("slack") == []


def test_control_rejects_bad_input(sb: Sandbox) -> None:
    control = sb.url + "/_control"
    assert httpx.post(control + "/users", json={}).status_code == 400
    assert httpx.post(control + "/faults", json={"service": "smtp", "target": "*",
                                                 "status": 500}).status_code == 400
    assert httpx.get(control + "/jira/issues/SEC-9").status_code == 404


def test_module_runs_standalone_until_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.split(": ", 1)[1].strip()
        with RemoteSandbox(url) as remote:
            assert remote.add_user("alice").startswith("U")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
