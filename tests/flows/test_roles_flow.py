"""commander / severity / update / handover run in-process, and the locks they share with
backups: a state change never waits behind a backup's Slack fetch."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from slack_sdk import WebClient

from sandbox.driver import wait_for
from tests.flows.support import notices, unique
from tests.support import read_transcript

Seed = Callable[..., dict[str, str]]


def topic(sandbox: Any, channel_id: str) -> str:
    value = sandbox.channel(channel_id)["topic"]
    return str(value["value"] if isinstance(value, dict) else value)


def comments(sandbox: Any, key: str) -> list[str]:
    return list(sandbox.jira_issue(key)["comments"])


def test_commander_then_handover(sandbox: Any, seed_incident: Seed,
                                 crew: dict[str, str]) -> None:
    from flows.commander import commander_incident
    from flows.handover import handover_incident
    from tasks.state import load_incident

    inc = seed_incident()
    ch, key = inc["channel_id"], inc["key"]
    commander_incident(channel_id=ch, commander=crew["ben"], requested_by=crew["ann"])
    assert load_incident(ch).commander == crew["ben"]
    assert topic(sandbox, ch).startswith(f"Jira {key}: ") and "Commander: ben" in \
        topic(sandbox, ch) and "/browse/" + key in topic(sandbox, ch)
    assert any(f"<@{crew['ben']}> is now the incident commander" in n
               and f"<@{crew['ann']}>" in n for n in notices(sandbox, ch))
    assert any(c.startswith(f"Incident commander: ben ({crew['ben']})")
               for c in comments(sandbox, key))

    before = load_incident(ch).last_update_at
    handover_incident(channel_id=ch, next_commander=crew["cat"], known="db <primary> died",
                      in_progress="failover", actions="", requested_by=crew["ben"])
    state = load_incident(ch)
    assert state.commander == crew["cat"] and state.last_update_at is not None
    assert before is None
    assert crew["cat"] in sandbox.channel(ch)["members"]  # invited to command
    [posted] = [m for m in sandbox.messages(ch) if "takes command" in (m.get("text") or "")]
    assert f"<@{crew['cat']}> takes command from <@{crew['ben']}>" in posted["text"]
    assert "db &lt;primary&gt; died" in str(posted["blocks"])
    assert any("ben (" in c and "cat (" in c and "db <primary> died" in c
               for c in comments(sandbox, key))
    assert "Commander: cat" in topic(sandbox, ch)


def test_severity_sets_the_jira_priority_when_mapped(sandbox: Any, seed_incident: Seed,
                                                     crew: dict[str, str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.severity import severity_incident
    from tasks.state import load_incident

    monkeypatch.setenv("IRBOT_JIRA_PRIORITIES", '{"SEV-1": "Highest", "SEV-2": "Urgent"}')
    inc = seed_incident()
    ch, key = inc["channel_id"], inc["key"]
    assert severity_incident(channel_id=ch, severity="SEV-1",
                             requested_by=crew["ann"])["priority"] == "Highest"
    assert load_incident(ch).severity == "SEV-1"
    assert sandbox.jira_issue(key)["priority"] == "Highest"
    assert "SEV-1" in topic(sandbox, ch)
    assert any("from SEV-3 to *SEV-1*" in n for n in notices(sandbox, ch))
    assert any("Jira priority set to Highest" in c for c in comments(sandbox, key))
    # A priority Jira does not know: the severity still changes, the channel is told.
    severity_incident(channel_id=ch, severity="SEV-2", requested_by=crew["ann"])
    assert load_incident(ch).severity == "SEV-2"
    assert sandbox.jira_issue(key)["priority"] == "Highest"
    assert any("did not accept the priority Urgent" in n for n in notices(sandbox, ch))
    # Not mapped: the priority is left alone.
    severity_incident(channel_id=ch, severity="SEV-4", requested_by=crew["ann"])
    assert sandbox.jira_issue(key)["priority"] == "Highest"


def test_update_is_mirrored_to_the_exec_channel(sandbox: Any, seed_incident: Seed,
                                                crew: dict[str, str]) -> None:
    from flows.update import update_incident
    from tasks.state import change_incident, load_incident

    inc = seed_incident()
    ch, key = inc["channel_id"], inc["key"]
    exec_ch = sandbox.add_channel(unique("bk-exec"), members=[crew["ann"]])

    def with_exec(state: Any) -> None:
        state.exec_channel_id = exec_ch

    change_incident(ch, with_exec)
    update_incident(channel_id=ch, summary="looking at the db", requested_by=crew["ann"])
    assert load_incident(ch).update_status == "investigating"  # none before: the default
    update_incident(channel_id=ch, summary="replica lag <5s>", status="monitoring",
                    requested_by=crew["ben"])
    state = load_incident(ch)
    assert state.update_status == "monitoring" and state.last_update_at is not None
    update_incident(channel_id=ch, summary="still fine", requested_by=crew["ann"])
    assert load_incident(ch).update_status == "monitoring"  # "" keeps the current status
    [mirrored] = [m for m in sandbox.messages(exec_ch) if "replica lag" in m["text"]]
    assert f"{key} status update: Monitoring" in mirrored["text"] and f"<#{ch}>" in \
        mirrored["text"] and "&lt;5s&gt;" in mirrored["text"]
    assert any("Status update: Monitoring" in n for n in notices(sandbox, ch))
    assert any(c.startswith("Status update (Monitoring) by ben (") and "<5s>" in c
               for c in comments(sandbox, key))
    with pytest.raises(ValueError, match="status must be one of"):
        update_incident(channel_id=ch, summary="x", status="panicking")


def test_a_commander_change_does_not_wait_behind_a_backup(sandbox: Any, seed_incident: Seed,
                                                          crew: dict[str, str]) -> None:
    """The backup is held mid-fetch (conversations.history rate-limited for ~20 s, so the
    client waits on Retry-After with the backup lock held); the commander change, which
    needs only the state lock, finishes meanwhile; the backup then stores everything."""
    from flows.backup import backup_incident
    from flows.commander import commander_incident
    from tasks.state import load_incident

    inc = seed_incident()
    ch = inc["channel_id"]
    for i in range(5):
        sandbox.post_message(ch, crew["ann"], f"before the hold {i}")
    sandbox.throttle("conversations.history", 1, 20.0)
    # Spend the window's one call: the backup's own read then waits out the Retry-After.
    WebClient(token=sandbox.bot_token, base_url=sandbox.slack_api_url).conversations_history(
        channel=ch, limit=1)
    with ThreadPoolExecutor(1) as pool:
        backup = pool.submit(backup_incident, ch, crew["ann"])
        wait_for(lambda: len([r for r in sandbox.requests("slack", "conversations.history")
                              if r.params.get("channel") == ch]) >= 2,
                 timeout=30, what="the backup to be held on conversations.history")
        started = time.monotonic()
        commander_incident(channel_id=ch, commander=crew["ben"], requested_by=crew["ann"])
        took = time.monotonic() - started
        assert not backup.done(), "the backup was meant to be still held"
        result = backup.result(timeout=120)
    assert took < 12, f"the commander change waited {took:.1f} s behind the backup"
    state = load_incident(ch)
    assert state.commander == crew["ben"], "the backup's save kept the commander"
    assert state.message_count == result["total_messages"] == 5
    assert len(read_transcript(sandbox, inc["key"])) == 5


def test_an_incident_opened_before_backup_locks_gets_one(sandbox: Any, seed_incident: Seed,
                                                         crew: dict[str, str]) -> None:
    from prefect import get_client

    from flows.backup import backup_incident
    from tasks.state import backup_lock_name, delete_incident

    inc = seed_incident()
    ch = inc["channel_id"]
    with get_client(sync_client=True) as client:
        client.delete_global_concurrency_limit_by_name(backup_lock_name(ch))  # as before
    sandbox.post_message(ch, crew["ann"], "old incident")
    assert backup_incident(ch)["new_messages"] == 1
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(backup_lock_name(ch)).limit == 1
    delete_incident(ch)
    with get_client(sync_client=True) as client:
        names = {limit.name for limit in client.read_global_concurrency_limits(limit=200)}
    assert backup_lock_name(ch) not in names
