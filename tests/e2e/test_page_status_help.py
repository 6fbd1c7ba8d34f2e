"""`/irbot page`, `/irbot status` and `/irbot help` end to end, through `irbot serve`."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from sandbox.driver import Reply, SlackDriver, wait_for
from sandbox.stack import ROUTING_KEYS
from tasks.deployments import PAGE
from tests.e2e.support_runs import flow_runs, open_incidents, slack_epoch, unique_title, wait_final
from tests.support import read_transcript

SUBCOMMANDS = ("create", "backup", "page", "status", "archive", "help")
PD_400_BODY = {"status": "invalid event", "message": "Event object is invalid",
               "errors": ["'payload.summary' must be at most 1024 characters"]}


@pytest.fixture(scope="module")
def inc(driver: SlackDriver, sandbox: Any, people: dict[str, str],
        security: str) -> dict[str, Any]:
    """A SEV-2 incident shared by this module's tests (pages do not change its state)."""
    [opened] = open_incidents(driver, sandbox, people["alice"], security, [{
        "people": [people["bob"]], "title": unique_title("Pager test"), "severity": "SEV-2",
        "new_case": True}])
    return opened


def events_saying(sandbox: Any, message: str) -> list[dict[str, Any]]:
    return [e for e in sandbox.pagerduty_events
            if (e.get("payload", {}).get("custom_details") or {}).get("message") == message]


def wait_event(sandbox: Any, message: str, timeout: float = 45) -> dict[str, Any]:
    return wait_for(lambda: next(iter(events_saying(sandbox, message)), None), timeout=timeout,
                    interval=0.2, what=f"a PagerDuty event for {message!r}")


def page_note(sandbox: Any, channel: str, message: str, timeout: float = 30) -> str:
    """The bot's note in the channel about a page with this message."""
    return str(wait_for(lambda: next((m["text"] for m in sandbox.messages(channel)
                                      if " paged *" in (m.get("text") or "")
                                      and message in m["text"]), None),
                        timeout=timeout, what=f"the page note for {message!r}"))


def assert_ephemeral(answer: dict[str, Any] | str | Reply) -> None:
    """Slack shows a plain-text answer, or JSON without response_type, only to the person."""
    body = answer.body if isinstance(answer, Reply) else answer
    if isinstance(body, dict):
        assert body.get("response_type", "ephemeral") == "ephemeral", body
    else:
        assert body and not body.lstrip().startswith("{"), body


def test_page_in_incident_channel(driver: SlackDriver, sandbox: Any, people: dict[str, str],
                                  inc: dict[str, Any]) -> None:
    ch, key, alice, bob = inc["channel_id"], inc["key"], people["alice"], people["bob"]
    tag = uuid.uuid4().hex[:6]
    first, second, other = f"db down {tag}", f"still down {tag}", f"replica lag {tag}"
    replies = [driver.command(f'page engineering "{first}"', alice, ch, inc["name"]),
               driver.command(f'page engineering "{second}"', bob, ch, inc["name"]),
               driver.command(f'page database "{other}"', alice, ch, inc["name"])]
    for reply in replies:
        assert reply.status == 200 and reply.body in ("", {}), reply
        assert "Paging" in driver.wait_answer(reply.response_url)["text"]
        assert_ephemeral(driver.wait_answer(reply.response_url))
    e1, e2, e3 = (wait_event(sandbox, m) for m in (first, second, other))

    assert e1["event_action"] == "trigger"
    assert e1["routing_key"] == ROUTING_KEYS["engineering"]
    assert e3["routing_key"] == ROUTING_KEYS["database"]
    assert e1["dedup_key"] == e2["dedup_key"] != e3["dedup_key"]
    summary = e1["payload"]["summary"]
    assert key in summary and inc["title"] in summary and first in summary
    assert e1["payload"]["severity"] == "error"  # SEV-2
    hrefs = [link["href"] for link in e1.get("links") or []]
    assert any(ch in h and "slack" in h for h in hrefs), hrefs
    assert f"{sandbox.jira_url}/browse/{key}" in hrefs, hrefs

    for who, team, message, event in ((alice, "engineering", first, e1),
                                      (bob, "engineering", second, e2),
                                      (alice, "database", other, e3)):
        note = page_note(sandbox, ch, message)
        assert f"<@{who}>" in note and f"*{team}*" in note and event["dedup_key"] in note
        wait_for(lambda m=message, t=team, e=event: any(
            "PagerDuty" in c and t in c and m in c and e["dedup_key"] in c
            for c in sandbox.jira_issue(key)["comments"]), timeout=30,
            what=f"the Jira comment for {message!r}")
    for message in (first, second, other):
        assert len(events_saying(sandbox, message)) == 1
    [run] = flow_runs(PAGE, channel_id=ch, message=first)
    assert wait_final(str(run.id)) == "COMPLETED"


def test_page_outside_an_incident_uses_the_channel(driver: SlackDriver, sandbox: Any,
                                                   people: dict[str, str], security: str,
                                                   inc: dict[str, Any]) -> None:
    message = f"phishing? {uuid.uuid4().hex[:6]}"
    reply = driver.command(f"page engineering {message}", people["alice"], security, "security")
    assert reply.status == 200 and reply.body in ("", {})
    event = wait_event(sandbox, message)
    assert event["routing_key"] == ROUTING_KEYS["engineering"]
    assert security in event["payload"]["summary"] and message in event["payload"]["summary"]
    assert security in event["dedup_key"] and inc["key"] not in event["dedup_key"]
    assert [link["href"] for link in event["links"] if security in link["href"]]
    assert not [link for link in event["links"] if "/browse/" in link["href"]]
    note = page_note(sandbox, security, message)
    assert f"<@{people['alice']}>" in note and event["dedup_key"] in note


@pytest.mark.parametrize("text", ["page marketing \"help\"", "page"])
def test_page_unknown_or_missing_team_answers_at_once(driver: SlackDriver, sandbox: Any,
                                                      people: dict[str, str],
                                                      inc: dict[str, Any], text: str) -> None:
    pd_before, runs_before = len(sandbox.requests("pagerduty")), len(flow_runs(PAGE))
    reply = driver.command(text, people["alice"], inc["channel_id"], inc["name"])
    assert reply.status == 200
    assert_ephemeral(reply)
    for team in ROUTING_KEYS:
        assert f"`{team}`" in reply.text
    if "marketing" in text:
        assert "`marketing`" in reply.text
    time.sleep(2)
    assert len(sandbox.requests("pagerduty")) == pd_before
    assert len(flow_runs(PAGE)) == runs_before
    assert driver.answers(reply.response_url) == []


def test_page_retries_429_and_500_then_delivers_once(driver: SlackDriver, sandbox: Any,
                                                     people: dict[str, str],
                                                     inc: dict[str, Any]) -> None:
    message = f"flaky pager {uuid.uuid4().hex[:6]}"
    seen = len(sandbox.requests("pagerduty"))
    sandbox.inject_fault("pagerduty", "POST /v2/enqueue", 429, times=1, retry_after=1)
    sandbox.inject_fault("pagerduty", "POST /v2/enqueue", 500, times=1)
    reply = driver.command(f"page database {message}", people["bob"], inc["channel_id"],
                           inc["name"])
    assert reply.status == 200
    page_note(sandbox, inc["channel_id"], message, timeout=60)
    assert len(events_saying(sandbox, message)) == 1
    assert [r.status for r in sandbox.requests("pagerduty")[seen:]] == [429, 500, 202]
    [run] = flow_runs(PAGE, message=message)
    assert wait_final(str(run.id)) == "COMPLETED"


def test_page_refused_by_pagerduty_is_reported(driver: SlackDriver, sandbox: Any,
                                               people: dict[str, str],
                                               inc: dict[str, Any]) -> None:
    ch, alice = inc["channel_id"], people["alice"]
    message = f"refused {uuid.uuid4().hex[:6]}"
    seen = len(sandbox.requests("pagerduty"))
    sandbox.inject_fault("pagerduty", "POST /v2/enqueue", 400, times=1, body=PD_400_BODY)
    reply = driver.command(f"page engineering {message}", alice, ch, inc["name"])
    assert reply.status == 200
    told = wait_for(lambda: next((e for e in sandbox.ephemerals
                                  if e["user"] == alice and e["channel"] == ch
                                  and "was NOT paged" in e["text"]
                                  and PD_400_BODY["errors"][0] in e["text"]), None),
                    timeout=45, what="the refusal told to the requester")
    assert "Event object is invalid" in told["text"] and "`engineering`" in told["text"]
    [run] = flow_runs(PAGE, message=message)
    assert wait_final(str(run.id)) == "FAILED"
    assert [r.status for r in sandbox.requests("pagerduty")[seen:]] == [400]  # not retried
    assert events_saying(sandbox, message) == []
    assert not [m for m in sandbox.messages(ch) if message in (m.get("text") or "")]


def _drain_pagerduty_faults(sandbox: Any) -> None:
    """Use up an injected fault (the sandbox has no "clear"): an empty event gets the fault
    while it lasts, then PagerDuty's own 400, which stores nothing."""
    with httpx.Client(timeout=10) as http:
        for _ in range(100):
            if http.post(sandbox.pagerduty_url, json={}).status_code == 400:
                return
    raise AssertionError("the injected PagerDuty fault never ran out")


def test_pagerduty_down_is_reported_to_the_requester(driver: SlackDriver, sandbox: Any,
                                                     people: dict[str, str],
                                                     inc: dict[str, Any]) -> None:
    ch, alice = inc["channel_id"], people["alice"]
    message = f"nobody home {uuid.uuid4().hex[:6]}"
    told_before = len(sandbox.ephemerals)
    sandbox.inject_fault("pagerduty", "POST /v2/enqueue", 503, times=30)
    try:
        reply = driver.command(f"page engineering {message}", alice, ch, inc["name"])
        assert reply.status == 200
        run = wait_for(lambda: next(iter(flow_runs(PAGE, message=message)), None),
                       timeout=20, what="the page run")
        assert wait_final(str(run.id), timeout=60) == "FAILED"
    finally:
        _drain_pagerduty_faults(sandbox)
    assert events_saying(sandbox, message) == []
    time.sleep(1)
    told = [e for e in sandbox.ephemerals[told_before:]
            if e["user"] == alice and e["channel"] == ch and "engineering" in e["text"]]
    assert told, "the requester was never told that the page failed"


def test_status_shows_case_severity_opener_and_last_backup(driver: SlackDriver, sandbox: Any,
                                                           people: dict[str, str],
                                                           inc: dict[str, Any]) -> None:
    ch, key, alice = inc["channel_id"], inc["key"], people["alice"]
    before = status_text(driver, people["bob"], inc)
    assert "Last backup: none yet" in before

    sandbox.post_message(ch, alice, "something worth keeping")
    reply = driver.command("backup", alice, ch, inc["name"])
    assert reply.status == 200
    wait_for(lambda: any((m.get("text") or "").startswith("Backup saved")
                         for m in sandbox.messages(ch)), timeout=60, what="the backup")
    rows = len(read_transcript(sandbox, key))

    text = status_text(driver, people["bob"], inc)
    assert f"<{sandbox.jira_url}/browse/{key}|{key}>" in text
    assert "Severity: SEV-2" in text
    assert f"Opened by <@{alice}>" in text
    last = text.split("Last backup:", 1)[1]
    assert abs(slack_epoch(last) - time.time()) < 120
    assert f"{rows} messages" in last
    assert "Archive pending" not in text


def status_text(driver: SlackDriver, user: str, inc: dict[str, Any]) -> str:
    reply = driver.command("status", user, inc["channel_id"], inc["name"])
    assert reply.status == 200
    answer = driver.wait_answer(reply.response_url)
    assert_ephemeral(answer)
    return str(answer["text"])


@pytest.mark.parametrize("text", ["help", "", "   ", "frobnicate now", "BACKUPS now"])
def test_help_and_unknown_subcommand_list_every_subcommand(driver: SlackDriver,
                                                           people: dict[str, str],
                                                           security: str, text: str) -> None:
    """Routing only: what help says is table-tested (tests/unit/test_replies_table.py)."""
    from webhook.commands import SUBCOMMANDS as SERVED

    reply = driver.command(text, people["alice"], security, "security")
    assert reply.status == 200
    assert_ephemeral(reply)
    for name in {*SUBCOMMANDS, *SERVED}:
        assert f"/irbot {name}" in reply.text, (name, reply.text)
    if text.strip():
        assert text.split()[0] in reply.text  # says what it did not understand
    assert driver.answers(reply.response_url) == []


def test_no_answer_to_a_single_responder_is_in_channel(sandbox: Any) -> None:
    """Every later answer this session sent on a response_url stayed ephemeral."""
    loud = [r for r in sandbox.responses
            if isinstance(r["body"], dict) and r["body"].get("response_type") == "in_channel"]
    assert loud == []
