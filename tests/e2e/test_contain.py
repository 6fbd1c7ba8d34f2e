"""`/irbot contain` and `/irbot lift` end to end, through `irbot serve`: the card, who may
confirm, what Falcon received, and Falcon's refusals and outages as responders see them.
(Without Falcon settings the webhook answers in its ack: tests/inprocess covers that.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sandbox.driver import SlackDriver, wait_for
from sandbox.stack import CONTAIN_GROUP
from tasks.messages import CONTAIN_CONFIRM_ACTION
from tests.e2e.support_runs import (
    buttons,
    command_answer,
    has_buttons,
    message_at,
    open_incidents,
    unique_title,
    wait_text,
)
from webhook import replies

ACTION = "POST /devices/entities/devices-actions/v2"
QUERY = "GET /devices/queries/devices/v1"


@pytest.fixture(scope="module")
def inc(driver: SlackDriver, sandbox: Any, people: dict[str, str],
        security: str) -> dict[str, Any]:
    """One incident for the module; alice opened it, so she is its commander."""
    [opened] = open_incidents(driver, sandbox, people["alice"], security, [{
        "people": [people["bob"]], "title": unique_title("Containment"), "severity": "SEV-1",
        "new_case": True}])
    return opened


def host_name(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:6]}"


def ask(driver: SlackDriver, sandbox: Any, inc: dict[str, Any], user: str, text: str,
        hostname: str) -> dict[str, Any]:
    """Type the command; returns the card irbot then posts for that host."""
    reply = driver.command(text, user, inc["channel_id"], inc["name"])
    assert command_answer(driver, reply)["text"] == replies.looking_up(hostname)
    return wait_for(lambda: next((m for m in sandbox.messages(inc["channel_id"])
                                  if has_buttons(m) and f"`{hostname}`" in m["text"]), None),
                    timeout=60, interval=0.2, what=f"the card for {hostname}")


def comments(sandbox: Any, inc: dict[str, Any], hostname: str) -> list[str]:
    return [c for c in sandbox.jira_issue(inc["key"])["comments"]
            if f"[CrowdStrike Falcon · {hostname}]" in c]


def test_the_commander_contains_a_host_others_may_not(
        driver: SlackDriver, sandbox: Any, people: dict[str, str], inc: dict[str, Any]) -> None:
    host = host_name("ws")
    device = sandbox.add_host(host, platform_name="Windows", os_version="Windows 11")
    ch = inc["channel_id"]
    card = ask(driver, sandbox, inc, people["bob"], f"contain {host}", host)
    assert [b["text"]["text"] for b in buttons(card)] == ["Contain", "Cancel"]
    assert "Windows 11" in card["text"] and "not contained" in card["text"]

    refused = driver.click(ch, card, CONTAIN_CONFIRM_ACTION, people["bob"])
    told = driver.wait_answer(refused.response_url)
    assert told["text"] == replies.not_allowed_to_confirm(people["alice"], "containment")
    assert told["response_type"] == "ephemeral" and told["replace_original"] is False

    first = driver.click(ch, card, CONTAIN_CONFIRM_ACTION, people["alice"])
    again = driver.click(ch, card, CONTAIN_CONFIRM_ACTION, people["alice"])  # a double click
    assert first.status == again.status == 200
    wait_text(sandbox, ch, f"CrowdStrike Falcon reports `{host}` contained.")
    assert [a["action"] for a in sandbox.falcon_actions() if a["device_id"] == device] == [
        "contain"]
    [sent] = [r for r in sandbox.requests("falcon", ACTION) if r.params == {"ids": [device]}]
    assert sent.query["action_name"] == "contain" and sent.auth_valid
    closed = message_at(sandbox, ch, card["ts"])
    assert not has_buttons(closed)
    assert closed["text"].startswith(f"<@{people['alice']}> confirmed")
    recorded = wait_for(lambda: (lambda c: c if len(c) >= 3 else None)(
        comments(sandbox, inc, host)), timeout=20, what="three Jira comments")
    assert "asked via Slack to contain this host" in recorded[0] and device in recorded[0]
    assert f"alice ({people['alice']}) confirmed" in recorded[1]
    assert "reports" in recorded[2] and "contained" in recorded[2]


def test_a_member_of_an_allowed_group_lifts(driver: SlackDriver, sandbox: Any,
                                            people: dict[str, str], inc: dict[str, Any]) -> None:
    sandbox.add_usergroup("containers", [people["carol"]], group_id=CONTAIN_GROUP)
    host = host_name("db")
    device = sandbox.add_host(host, status="contained")
    card = ask(driver, sandbox, inc, people["alice"], f"lift {host}", host)
    assert [b["text"]["text"] for b in buttons(card)] == ["Lift", "Cancel"]
    driver.click(inc["channel_id"], card, CONTAIN_CONFIRM_ACTION, people["carol"])
    wait_text(sandbox, inc["channel_id"], f"CrowdStrike Falcon reports `{host}` not contained.")
    assert [a["action"] for a in sandbox.falcon_actions() if a["device_id"] == device] == [
        "lift_containment"]
    assert any("usergroups.users.list" == r.name and r.params.get("usergroup") == CONTAIN_GROUP
               for r in sandbox.requests("slack"))


def test_falcon_outages_and_refusals_are_reported(
        driver: SlackDriver, sandbox: Any, people: dict[str, str], inc: dict[str, Any]) -> None:
    ch = inc["channel_id"]
    # 429 on the search: waited out (X-RateLimit-RetryAfter), then the card comes.
    host = host_name("rl")
    device = sandbox.add_host(host)
    queries = len(sandbox.requests("falcon", QUERY))
    sandbox.inject_fault("falcon", "GET /devices/queries", 429, retry_after=1)
    card = ask(driver, sandbox, inc, people["alice"], f"contain {host}", host)
    assert [r.status for r in sandbox.requests("falcon", QUERY)[queries:]] == [429, 200]

    # 503 on every attempt of the action: bounded retries, then the channel and Jira are told.
    actions = len(sandbox.requests("falcon", ACTION))
    sandbox.inject_fault("falcon", "POST /devices/entities/devices-actions", 503, times=4)
    driver.click(ch, card, CONTAIN_CONFIRM_ACTION, people["alice"])
    said = f"CrowdStrike Falcon did not contain `{host}`: Falcon is not answering (HTTP 503)"
    wait_text(sandbox, ch, said, timeout=90)
    assert [r.status for r in sandbox.requests("falcon", ACTION)[actions:]] == [503] * 4
    assert sandbox.falcon_host(device)["status"] == "normal"
    wait_for(lambda: any(said in c for c in comments(sandbox, inc, host)), timeout=20,
             what="the failure on Jira")

    # 401: Falcon refuses irbot's API client; said at once, not retried.
    host = host_name("auth")
    sandbox.add_host(host)
    queries = len(sandbox.requests("falcon", QUERY))
    sandbox.inject_fault("falcon", "GET /devices/queries", 401)
    reply = driver.command(f"contain {host}", people["bob"], ch, inc["name"])
    assert command_answer(driver, reply)["text"] == replies.looking_up(host)
    wait_text(sandbox, ch, f"Could not look up `{host}` to contain it: Falcon refused irbot's "
              "API client (HTTP 401)")
    assert [r.status for r in sandbox.requests("falcon", QUERY)[queries:]] == [401]
