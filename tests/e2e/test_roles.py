"""`/irbot commander | severity | update | handover` end to end, through `irbot serve`: one
incident (with an executive channel) carried through a whole shift."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.driver import SlackDriver, form_values, wait_for
from tasks.deployments import COMMANDER, SEVERITY, UPDATE
from tasks.state import load_incident
from tests.e2e.support_runs import command_answer, flow_runs, open_incidents, unique_title

# A GitHub token (detect-secrets' pattern): what a responder might paste by mistake.
TOKEN = "ghp_" + "Zq8w" * 9


@pytest.fixture(scope="module")
def inc(driver: SlackDriver, sandbox: Any, people: dict[str, str],
        security: str) -> dict[str, Any]:
    """A SEV-3 incident with an executive channel (carol), shared by this module's tests,
    which run in order: each leaves the commander where the next expects it."""
    [opened] = open_incidents(driver, sandbox, people["alice"], security, [{
        "people": [people["bob"]], "title": unique_title("Roles test"), "severity": "SEV-3",
        "new_case": True, "exec_channel": True, "exec_people": [people["carol"]]}])
    return opened


def posted(sandbox: Any, channel: str, needle: str, timeout: float = 45) -> dict[str, Any]:
    """irbot's message in `channel` whose text holds `needle`."""
    return dict(wait_for(lambda: next((m for m in sandbox.messages(channel)
                                       if needle in (m.get("text") or "")), None),
                         timeout=timeout, what=f"a message saying {needle!r}"))


def commented(sandbox: Any, key: str, needle: str, timeout: float = 45) -> str:
    return str(wait_for(lambda: next((c for c in sandbox.jira_issue(key)["comments"]
                                      if needle in c), None),
                        timeout=timeout, what=f"a Jira comment saying {needle!r}"))


def topic(sandbox: Any, channel: str) -> str:
    value = sandbox.channel(channel)["topic"]
    return str(value["value"] if isinstance(value, dict) else value)


def test_commander_named_me_and_refused(driver: SlackDriver, sandbox: Any,
                                        people: dict[str, str], security: str,
                                        inc: dict[str, Any]) -> None:
    ch, key, alice, bob = inc["channel_id"], inc["key"], people["alice"], people["bob"]
    reply = driver.command(f"commander <@{bob}|bob>", alice, ch, inc["name"])
    assert reply.status == 200 and reply.body in ("", {}), reply
    assert f"Making <@{bob}>" in driver.wait_answer(reply.response_url)["text"]
    posted(sandbox, ch, f"<@{bob}> is now the incident commander (named by <@{alice}>)")
    commented(sandbox, key, f"Incident commander: bob ({bob})")
    wait_for(lambda: "Commander: bob" in topic(sandbox, ch), timeout=15, what="the topic")
    assert f"/browse/{key}" in topic(sandbox, ch)

    reply = driver.command("commander", alice, ch, inc["name"])  # me
    assert "Making you" in driver.wait_answer(reply.response_url)["text"]
    posted(sandbox, ch, f"<@{alice}> is now the incident commander.")
    wait_for(lambda: load_incident(ch).commander == alice, timeout=15, what="alice commanding")

    status = command_answer(driver, driver.command("status", bob, ch, inc["name"]))
    assert f"Commander: <@{alice}>" in status["text"]
    assert "Latest update: none yet" in status["text"]

    runs = len(flow_runs(COMMANDER, channel_id=ch))
    bare = driver.command("commander @bob", alice, ch, inc["name"])
    assert bare.status == 200 and "pick the person from Slack's list" in bare.text
    elsewhere = driver.command(f"commander <@{bob}|bob>", alice, security, "security")
    assert "not an open incident" in command_answer(driver, elsewhere)["text"]
    assert len(flow_runs(COMMANDER, channel_id=ch)) == runs


def test_severity_changes_topic_and_jira_priority(driver: SlackDriver, sandbox: Any,
                                                  people: dict[str, str],
                                                  inc: dict[str, Any]) -> None:
    ch, key, alice = inc["channel_id"], inc["key"], people["alice"]
    refused = driver.command("severity SEV-7", alice, ch, inc["name"])
    assert "`SEV-7` is not a severity" in refused.text and "`SEV-4`" in refused.text
    assert flow_runs(SEVERITY, channel_id=ch) == []

    reply = driver.command("severity sev1", alice, ch, inc["name"])
    assert "SEV-1" in driver.wait_answer(reply.response_url)["text"]
    posted(sandbox, ch, f"Severity changed from SEV-3 to *SEV-1* by <@{alice}>")
    commented(sandbox, key, "Jira priority set to Highest")
    assert sandbox.jira_issue(key)["priority"] == "Highest"
    assert "SEV-1" in topic(sandbox, ch) and load_incident(ch).severity == "SEV-1"


def test_updates_by_text_and_form_mirrored_and_masked(driver: SlackDriver, sandbox: Any,
                                                      people: dict[str, str],
                                                      inc: dict[str, Any]) -> None:
    ch, key, exec_ch, alice = inc["channel_id"], inc["key"], inc["exec_channel_id"], \
        people["alice"]
    # As Slack sends it with should_escape: a link in its markup, `&` escaped.
    text = f"db failover &amp; <https://status.example.com|status page> up; old key {TOKEN}"
    reply = driver.command(f"update {text}", alice, ch, inc["name"])
    assert reply.status == 200 and reply.body in ("", {}), reply
    in_channel = posted(sandbox, ch, "Status update: Investigating")
    shown = in_channel["text"]
    assert "status page (https://status.example.com)" in shown and "&amp;" in shown
    assert "[redacted: GitHub Token]" in shown and TOKEN not in shown
    mirrored = posted(sandbox, exec_ch, f"{key} status update: Investigating")
    assert f"<#{ch}>" in mirrored["text"] and TOKEN not in mirrored["text"]
    comment = commented(sandbox, key, "Status update (Investigating)")
    assert "db failover & status page" in comment and TOKEN not in comment
    [run] = flow_runs(UPDATE, channel_id=ch)
    assert TOKEN not in str(run.parameters)  # masked before it became a parameter

    reply = driver.command("update", alice, ch, inc["name"])
    view = driver.opened_view(reply.trigger_id)
    [status] = [b for b in view["blocks"] if b["block_id"] == "status"]
    assert status["element"]["initial_option"]["value"] == "investigating"  # the current one
    empty = driver.submit(view, form_values(view, {"status": "identified"}), alice)
    assert empty.body["response_action"] == "errors" and "summary" in empty.body["errors"]
    done = driver.submit(view, form_values(view, {"status": "identified",
                                                  "summary": "root cause: expired cert"}), alice)
    assert done.status == 200 and done.body in ("", {}), done
    posted(sandbox, exec_ch, f"{key} status update: Identified")
    posted(sandbox, ch, "Status update: Identified")
    commented(sandbox, key, "root cause: expired cert")
    state = load_incident(ch)
    assert state.update_status == "identified" and state.last_update_at is not None


def test_handover_changes_the_commander(driver: SlackDriver, sandbox: Any,
                                        people: dict[str, str], inc: dict[str, Any]) -> None:
    ch, key, alice, bob = inc["channel_id"], inc["key"], people["alice"], people["bob"]
    before = load_incident(ch).last_update_at
    reply = driver.command("handover", alice, ch, inc["name"])
    view = driver.opened_view(reply.trigger_id)
    unnamed = driver.submit(view, form_values(view, {"known": "cert expired"}), alice)
    assert "next_commander" in unnamed.body["errors"]
    done = driver.submit(view, form_values(view, {
        "known": "cert expired on the LB", "in_progress": "renewing it",
        "actions": "post-mortem", "next_commander": bob}), alice)
    assert done.status == 200 and done.body in ("", {}), done
    message = posted(sandbox, ch, f"<@{bob}> takes command from <@{alice}>")
    assert "renewing it" in str(message["blocks"]) and "post-mortem" in str(message["blocks"])
    comment = commented(sandbox, key, "Handover by alice")
    assert f"bob ({bob})" in comment and "cert expired on the LB" in comment
    state = load_incident(ch)
    assert state.commander == bob
    assert state.last_update_at is not None and before is not None
    assert state.last_update_at > before
    wait_for(lambda: "Commander: bob" in topic(sandbox, ch), timeout=15, what="the topic")
