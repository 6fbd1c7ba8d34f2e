"""contain-incident / lift-incident runs in this process: what Falcon, the channel and the Jira
case received, including Falcon's refusals and outages."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tasks.errors import FalconError
from tasks.messages import CONTAIN_CONFIRM_ACTION
from tests.flows.support import unique

Seed = Callable[..., dict[str, str]]
ACTION = "POST /devices/entities/devices-actions/v2"
QUERY = "GET /devices/queries/devices/v1"


def run(action: str, channel_id: str, hostname: str, **params: Any) -> dict[str, Any]:
    from flows.contain import contain_host, lift_containment

    flow = contain_host if action == "contain" else lift_containment
    result: dict[str, Any] = flow(channel_id, hostname, **params)
    return result


def card_in(sandbox: Any, channel_id: str) -> dict[str, Any]:
    """The newest message with the confirm button."""
    return next(m for m in reversed(sandbox.messages(channel_id))
                if any(e.get("action_id") == CONTAIN_CONFIRM_ACTION
                       for b in m.get("blocks") or [] for e in b.get("elements") or []))


def texts(sandbox: Any, channel_id: str) -> list[str]:
    return [str(m.get("text")) for m in sandbox.messages(channel_id)]


def comments(sandbox: Any, key: str) -> list[str]:
    return [str(c) for c in sandbox.jira_issue(key)["comments"]]


def falcon_calls(sandbox: Any, name: str, since: int = 0) -> list[Any]:
    return sandbox.requests("falcon", name)[since:]


@pytest.fixture
def inc(seed_incident: Seed) -> dict[str, str]:
    return seed_incident()


def test_lookup_card_then_the_commander_contains(sandbox: Any, inc: dict[str, str],
                                                 crew: dict[str, str]) -> None:
    host = unique("ws")
    device = sandbox.add_host(host, platform_name="Linux", os_version="Ubuntu 24.04",
                              last_seen="2026-12-05T10:00:00Z")
    ch, key = inc["channel_id"], inc["key"]
    queries = len(falcon_calls(sandbox, QUERY))

    assert run("contain", ch, host, requested_by=crew["ben"]) == {
        "outcome": "awaiting_confirmation", "device_id": device}
    [query] = falcon_calls(sandbox, QUERY, queries)
    assert query.query["filter"] == f"hostname:'{host}'"
    card = card_in(sandbox, ch)
    assert f"<@{crew['ben']}> asked to contain a host" in card["text"]
    assert f"`{host}` · Ubuntu 24.04 (Linux) · last seen" in card["text"]
    assert "not contained" in card["text"]
    value = json.loads(card["blocks"][1]["elements"][0]["value"])
    assert (value["a"], value["d"], value["h"], value["r"]) == ("contain", device, host,
                                                                crew["ben"])
    assert any(f"asked via Slack to contain this host. Falcon found device {device}" in c
               for c in comments(sandbox, key))
    assert all(a["device_id"] != device for a in sandbox.falcon_actions())

    outcome = run("contain", ch, host, requested_by=crew["ben"], decision="confirm",
                  decided_by=crew["ann"], device_id=device, card_ts=card["ts"])
    assert outcome == {"outcome": "done", "status": "contained", "decided_by": crew["ann"]}
    assert [a["action"] for a in sandbox.falcon_actions() if a["device_id"] == device] == [
        "contain"]
    [sent] = [r for r in falcon_calls(sandbox, ACTION) if r.params == {"ids": [device]}]
    assert sent.query == {"action_name": "contain"} and sent.status == 202
    closed = next(m for m in sandbox.messages(ch) if m["ts"] == card["ts"])
    assert closed["text"] == (f"<@{crew['ann']}> confirmed: asking CrowdStrike Falcon to "
                              f"contain `{host}`…")
    assert all(b["type"] != "actions" for b in closed["blocks"])
    assert f"CrowdStrike Falcon reports `{host}` contained." in texts(sandbox, ch)
    recorded = comments(sandbox, key)
    assert any(f"[CrowdStrike Falcon · {host}] ann ({crew['ann']}) confirmed" in c
               for c in recorded)
    assert any(f"reports `{host}` contained. (device {device})" in c for c in recorded)

    # Contained now: another contain finds nothing to do; lift shows the card again.
    assert run("contain", ch, host, requested_by=crew["cat"])["outcome"] == "nothing_to_do"
    assert f"`{host}` is already contained in CrowdStrike Falcon: nothing to contain." \
        in texts(sandbox, ch)
    assert run("lift", ch, host, requested_by=crew["cat"])["outcome"] == "awaiting_confirmation"
    lift_card = card_in(sandbox, ch)
    assert lift_card["blocks"][1]["elements"][0]["text"]["text"] == "Lift"
    assert run("lift", ch, host, decision="cancel", decided_by=crew["cat"], device_id=device,
               card_ts=lift_card["ts"])["outcome"] == "cancelled"
    cancelled = next(m for m in sandbox.messages(ch) if m["ts"] == lift_card["ts"])
    assert cancelled["text"].startswith(f"<@{crew['cat']}> cancelled: `{host}` was not changed")
    assert [a["action"] for a in sandbox.falcon_actions() if a["device_id"] == device] == [
        "contain"]


@pytest.mark.parametrize(("hosts", "said"), [
    (0, "CrowdStrike Falcon has no host named"), (2, "CrowdStrike Falcon has 2 hosts named")])
def test_no_host_or_several(sandbox: Any, inc: dict[str, str], crew: dict[str, str],
                            hosts: int, said: str) -> None:
    host = unique("dup")
    for _ in range(hosts):
        sandbox.add_host(host)
    assert run("contain", inc["channel_id"], host, requested_by=crew["ben"]) == {
        "outcome": "not_found"}
    [told] = [t for t in texts(sandbox, inc["channel_id"]) if said in t]
    assert told.startswith(f"Could not look up `{host}` to contain it: ")
    assert any(said in c for c in comments(sandbox, inc["key"]))


def test_a_rate_limit_is_waited_out_then_the_lookup_goes_on(
        sandbox: Any, inc: dict[str, str], crew: dict[str, str]) -> None:
    host = unique("rl")
    sandbox.add_host(host)
    queries = len(falcon_calls(sandbox, QUERY))
    sandbox.inject_fault("falcon", "GET /devices/queries", 429, retry_after=3)
    assert run("contain", inc["channel_id"], host)["outcome"] == "awaiting_confirmation"
    tried = falcon_calls(sandbox, QUERY, queries)
    assert [r.status for r in tried] == [429, 200]
    assert tried[1].at - tried[0].at >= 1.9  # X-RateLimit-RetryAfter honoured


def test_falcon_down_is_retried_then_reported(sandbox: Any, inc: dict[str, str],
                                              crew: dict[str, str]) -> None:
    host = unique("down")
    device = sandbox.add_host(host)
    actions = len(falcon_calls(sandbox, ACTION))
    sandbox.inject_fault("falcon", "POST /devices/entities/devices-actions", 503, times=4)
    with pytest.raises(FalconError):
        run("contain", inc["channel_id"], host, decision="confirm", decided_by=crew["ann"],
            device_id=device)
    assert [r.status for r in falcon_calls(sandbox, ACTION, actions)] == [503] * 4  # bounded
    said = (f"CrowdStrike Falcon did not contain `{host}`: Falcon is not answering (HTTP 503) "
            "after 4 attempts. Nothing was changed; try again shortly.")
    assert said in texts(sandbox, inc["channel_id"])
    assert any(said in c for c in comments(sandbox, inc["key"]))
    assert sandbox.falcon_host(device)["status"] == "normal"


def test_refused_credentials_are_not_retried(sandbox: Any, inc: dict[str, str],
                                             crew: dict[str, str]) -> None:
    host = unique("auth")
    sandbox.add_host(host)
    queries = len(falcon_calls(sandbox, QUERY))
    sandbox.inject_fault("falcon", "GET /devices/queries", 401)
    with pytest.raises(FalconError):
        run("lift", inc["channel_id"], host, requested_by=crew["ben"])
    assert [r.status for r in falcon_calls(sandbox, QUERY, queries)] == [401]
    assert any("Falcon refused irbot's API client (HTTP 401)" in t
               for t in texts(sandbox, inc["channel_id"]))


def test_an_operator_lifts_from_prefect_without_a_card(sandbox: Any, inc: dict[str, str]) -> None:
    """`prefect deployment run lift-incident/lift --param decision=confirm …`: by name."""
    host = unique("op")
    device = sandbox.add_host(host, status="contained")
    outcome = run("lift", inc["channel_id"], host, decision="confirm")
    assert outcome == {"outcome": "done", "status": "normal", "decided_by": None}
    assert [a["action"] for a in sandbox.falcon_actions() if a["device_id"] == device] == [
        "lift_containment"]
    assert "An operator (from Prefect) confirmed: asking CrowdStrike Falcon to lift " \
           f"containment of `{host}`…" in texts(sandbox, inc["channel_id"])
