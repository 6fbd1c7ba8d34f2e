"""backup-incident run in-process: the transcript on Jira, exactly once, whatever fails."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from jira.exceptions import JIRAError

from tests.flows.support import (
    clear_faults,
    expected_rows,
    notices,
    slack_calls,
)
from tests.support import read_transcript, transcripts

Seed = Callable[..., dict[str, str]]


def backup(channel_id: str, requested_by: str | None = None) -> dict[str, Any]:
    from flows.backup import backup_incident

    if requested_by is None:
        return backup_incident(channel_id)
    return backup_incident(channel_id, requested_by=requested_by)


def jira_calls_about(sandbox: Any, key: str, attachment_ids: set[str], since: int) -> list[str]:
    """Recorded Jira requests (after the first `since`) that concern this case or its files."""
    marks = {key, *(f"/attachment/{a}" for a in attachment_ids)}
    return [r.name for r in sandbox.requests("jira")[since:]
            if any(m in r.path for m in marks)]


def test_large_channel_paginated_names_fetched_once_every_message_once(
        sandbox: Any, seed_incident: Seed, crew: dict[str, str]) -> None:
    users = [sandbox.add_user(f"big{i}", f"Big User {i}") for i in range(32)]
    inc = seed_incident(members=users)
    ch = inc["channel_id"]
    for i in range(2100):
        sandbox.post_message(ch, users[i % len(users)], f"message {i} about the outage")
    sandbox.post_message(ch, users[0], f"ping <@{crew['cat']}> please")  # mentioned, not member
    history = len(sandbox.requests("slack", "conversations.history"))
    infos = len(sandbox.requests("slack", "users.info"))

    result = backup(ch, requested_by=users[0])

    pages = slack_calls(sandbox, "conversations.history", history, channel=ch)
    assert len(pages) >= 3, "2,100 messages must take several pages"
    assert all(int(p.params.get("limit") or 100) <= 999 for p in pages)
    assert all(p.params.get("cursor") for p in pages[1:])
    asked = Counter(str(r.params.get("user"))
                    for r in sandbox.requests("slack", "users.info")[infos:])
    assert set(users) | {crew["cat"]} <= set(asked)
    assert {u: n for u, n in asked.items() if n > 1} == {}  # once per distinct user

    csv = read_transcript(sandbox, inc["key"])
    want = expected_rows(sandbox, ch)
    assert csv["ts"].tolist() == want  # every message once, in order, ts strings exact
    assert any(ts.endswith("0") for ts in want)  # so exactness is really tested
    assert result["new_messages"] == len(want) == result["total_messages"]
    names = dict(zip(csv["ts"], csv["user_name"], strict=True))
    assert names[want[-2]] == f"big{2099 % len(users)}"  # message 2099's author, by name
    assert csv.loc[csv["ts"] == want[-1], "text"].item() == "ping @cat please"
    assert any(t.startswith("Backup saved") for t in notices(sandbox, ch))


def test_users_info_once_per_user_including_the_requester(
        sandbox: Any, seed_incident: Seed, crew: dict[str, str]) -> None:
    inc = seed_incident()
    sandbox.post_message(inc["channel_id"], crew["ann"], "I wrote this and asked for the backup")
    sandbox.post_message(inc["channel_id"], crew["ben"], "me too")
    infos = len(sandbox.requests("slack", "users.info"))
    backup(inc["channel_id"], requested_by=crew["ann"])
    asked = Counter(str(r.params.get("user"))
                    for r in sandbox.requests("slack", "users.info")[infos:])
    assert asked == Counter({crew["ann"]: 1, crew["ben"]: 1})


def test_threads_bots_mentions_and_formulas(sandbox: Any, seed_incident: Seed,
                                            crew: dict[str, str]) -> None:
    ann, ben = crew["ann"], crew["ben"]
    inc = seed_incident()
    ch = inc["channel_id"]
    parent = sandbox.post_message(ch, ann, "thread parent")
    reply = sandbox.post_message(ch, ben, "a reply in the thread", thread_ts=parent)
    bot = sandbox.post_bot_message(ch, "Grafana", "CPU at 99%")
    mention = sandbox.post_message(
        ch, ben, f"ask <@{ann}> about <#{ch}|incident> &amp; <!here> now")
    formulas = {
        sandbox.post_message(ch, ann, text): text
        for text in ("=1+2", "+SUM(A1:A9)", "-2+3", "@SUM(1,2)", "\tcmd", "\rcmd")
    }
    plain = sandbox.post_message(ch, ben, "multi\nline, with \"quotes\" and émoji 🔥")

    backup(ch, requested_by=ben)
    csv = read_transcript(sandbox, inc["key"]).set_index("ts")

    assert csv.loc[reply, "thread_ts"] == parent  # a reply is a row of its own
    assert csv.loc[parent, "thread_ts"] == parent
    assert csv.loc[bot, "user_name"] == "Grafana"
    assert csv.loc[bot, "subtype"] == "bot_message"
    assert csv.loc[mention, "text"] == "ask @ann about #incident & @here now"
    assert csv.loc[mention, "text_raw"] == f"ask <@{ann}> about <#{ch}|incident> &amp; <!here> now"
    assert csv.loc[mention, "user_name"] == "ben"
    for ts, text in formulas.items():
        assert csv.loc[ts, "text"] == "'" + text, text
        assert csv.loc[ts, "text_raw"] == "'" + text, text
    assert csv.loc[plain, "text"] == "multi\nline, with \"quotes\" and émoji 🔥"

    # A second backup reads the stored CSV back: nothing may change or double.
    later = sandbox.post_message(ch, ann, "later")
    backup(ch, requested_by=ann)
    again = read_transcript(sandbox, inc["key"]).set_index("ts")
    assert again.index.tolist() == expected_rows(sandbox, ch)
    assert again.drop(index=later).equals(csv)


def test_formula_looking_user_names_are_neutralised(sandbox: Any, seed_incident: Seed,
                                                    crew: dict[str, str]) -> None:
    evil = sandbox.add_user("=cmd|' /C calc'!A0", "Evil")
    inc = seed_incident(members=[crew["ann"], evil])
    ts = sandbox.post_message(inc["channel_id"], evil, "hello")
    bot = sandbox.post_bot_message(inc["channel_id"], "+bot", "hi")
    backup(inc["channel_id"])
    csv = read_transcript(sandbox, inc["key"]).set_index("ts")
    assert csv.loc[ts, "user_name"] == "'=cmd|' /C calc'!A0"
    assert csv.loc[bot, "user_name"] == "'+bot"


def test_two_backups_at_once_store_every_message_once(sandbox: Any, seed_incident: Seed,
                                                      crew: dict[str, str]) -> None:
    inc = seed_incident()
    ch = inc["channel_id"]
    for i in range(300):
        sandbox.post_message(ch, crew["ann"] if i % 2 else crew["ben"], f"concurrent {i}")
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(backup, ch, who) for who in (crew["ann"], crew["ben"])]
        results = [r.result(timeout=120) for r in runs]
    assert sorted(r["new_messages"] for r in results) == [0, len(expected_rows(sandbox, ch))]
    assert len(transcripts(sandbox, inc["key"])) == 1
    assert read_transcript(sandbox, inc["key"])["ts"].tolist() == expected_rows(sandbox, ch)
    assert sum("SHA-256" in c for c in sandbox.jira_issue(inc["key"])["comments"]) == 1


def test_repeated_backup_says_nothing_new_and_leaves_jira_alone(
        sandbox: Any, seed_incident: Seed, crew: dict[str, str]) -> None:
    from tasks.state import load_incident

    inc = seed_incident()
    ch = inc["channel_id"]
    for i in range(5):
        sandbox.post_message(ch, crew["ann"], f"once {i}")
    first = backup(ch, requested_by=crew["ann"])
    state = load_incident(ch)
    mark = len(sandbox.requests("jira"))
    second = backup(ch, requested_by=crew["ben"])
    assert second["new_messages"] == 0
    assert notices(sandbox, ch)[-1].startswith("Nothing new")
    assert jira_calls_about(sandbox, inc["key"], {first["attachment_id"]}, mark) == []
    issue = sandbox.jira_issue(inc["key"])
    assert [a["id"] for a in issue["attachments"]] == [first["attachment_id"]]
    assert sum("SHA-256" in c for c in issue["comments"]) == 1
    assert read_transcript(sandbox, inc["key"])["ts"].tolist() == expected_rows(sandbox, ch)
    assert load_incident(ch).backup_cursor == state.backup_cursor


def test_a_rerun_killed_after_its_comment_records_the_backup_once(
        sandbox: Any, seed_incident: Seed, crew: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed once Jira stored the comment, before the cursor moved: the re-run finds the new
    rows already in the file (its counts differ: 0 in threads) but records the same file."""
    from tasks.state import load_incident, save_incident

    inc = seed_incident()
    ch = inc["channel_id"]
    parent = sandbox.post_message(ch, crew["ann"], "first")
    backup(ch, requested_by=crew["ann"])
    crashed = load_incident(ch)  # what the killed run leaves: the cursor where it was
    sandbox.post_message(ch, crew["ben"], "a reply", thread_ts=parent)
    sandbox.post_message(ch, crew["ben"], "second")
    backup(ch, requested_by=crew["ben"])
    save_incident(crashed)
    monkeypatch.setattr("tasks.jira.is_repeat_attempt", lambda: True)  # the same run again
    healed = backup(ch, requested_by=crew["ben"])
    comments = [c for c in sandbox.jira_issue(inc["key"])["comments"] if "SHA-256" in c]
    assert len(comments) == 2, comments
    assert healed["sha256"] in comments[-1]
    assert load_incident(ch).message_count == len(expected_rows(sandbox, ch))


def test_a_rerun_killed_before_its_saved_notice_posts_it_not_nothing_new(
        sandbox: Any, seed_incident: Seed, crew: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after the state moved, before "Backup saved" reached Slack: the same run again
    finds nothing new but owes its notice, and posts that; another run says nothing new."""
    from types import SimpleNamespace

    inc = seed_incident()
    ch = inc["channel_id"]
    sandbox.post_message(ch, crew["ann"], "before the crash")
    same_run = SimpleNamespace(id="run-killed-at-its-notice", run_count=1, ui_url="")
    monkeypatch.setattr("flows.backup.flow_run", same_run)
    backup(ch, requested_by=crew["ann"])

    def saved() -> list[dict[str, Any]]:
        return [m for m in sandbox.messages(ch) if m["text"].startswith("Backup saved")]

    sandbox.delete_message(ch, saved()[0]["ts"])  # as if the kill came before the post
    backup(ch, requested_by=crew["ann"])
    texts = [m["text"] for m in sandbox.messages(ch)]
    assert len(saved()) == 1 and not any(t.startswith("Nothing new") for t in texts), texts
    assert "1 new message" in saved()[0]["text"]

    monkeypatch.setattr("flows.backup.flow_run", SimpleNamespace(id="run-2", run_count=1,
                                                                 ui_url=""))
    backup(ch, requested_by=crew["ben"])
    assert [m["text"] for m in sandbox.messages(ch)][-1].startswith("Nothing new")
    assert len(saved()) == 1


@pytest.mark.parametrize(("status", "new_after_crash"), [(500, False), (403, True)],
                         ids=["transient-then-repeat", "permanent-then-new-messages"])
def test_crash_between_upload_and_delete_leaves_two_copies_then_heals(
        sandbox: Any, seed_incident: Seed, crew: dict[str, str], status: int,
        new_after_crash: bool) -> None:
    from tasks.state import load_incident

    inc = seed_incident()
    ch, key = inc["channel_id"], inc["key"]
    for i in range(4):
        sandbox.post_message(ch, crew["ann"], f"before {i}")
    first = backup(ch, requested_by=crew["ann"])
    before = load_incident(ch)
    for i in range(3):
        sandbox.post_message(ch, crew["ben"], f"between {i}")

    sandbox.inject_fault("jira", f"DELETE /rest/api/2/attachment/{first['attachment_id']}$",
                         status, times=50)
    with pytest.raises(Exception):  # noqa: B017 - whatever the jira library raises
        backup(ch, requested_by=crew["ben"])
    clear_faults(sandbox)
    after = load_incident(ch)
    assert after.backup_cursor == before.backup_cursor
    assert after.transcript_attachment_id == first["attachment_id"]
    assert len(transcripts(sandbox, key)) == 2
    assert any(t.startswith("Backup failed") for t in notices(sandbox, ch))

    if new_after_crash:
        sandbox.post_message(ch, crew["cat"], "after the crash")
    healed = backup(ch, requested_by=crew["ann"])
    [only] = transcripts(sandbox, key)
    assert read_transcript(sandbox, key)["ts"].tolist() == expected_rows(sandbox, ch)
    state = load_incident(ch)
    assert state.transcript_attachment_id == only["id"] == healed["attachment_id"]
    assert state.message_count == len(expected_rows(sandbox, ch))
    assert float(state.backup_cursor) >= float(expected_rows(sandbox, ch)[-1])


def test_rate_limit_and_server_error_on_history_are_retried(
        sandbox: Any, seed_incident: Seed, crew: dict[str, str]) -> None:
    inc = seed_incident()
    ch = inc["channel_id"]
    for i in range(10):
        sandbox.post_message(ch, crew["ben"], f"retry {i}")
    mark = len(sandbox.requests("slack", "conversations.history"))
    sandbox.inject_fault("slack", "conversations.history", 429, times=1, retry_after=1)
    sandbox.inject_fault("slack", "conversations.history", 500, times=1)
    backup(ch, requested_by=crew["ben"])
    statuses = [r.status for r in slack_calls(sandbox, "conversations.history", mark, channel=ch)]
    assert statuses[:2] == [429, 500] and statuses[-1] == 200
    assert read_transcript(sandbox, inc["key"])["ts"].tolist() == expected_rows(sandbox, ch)


def test_backup_that_keeps_failing_reports_and_keeps_the_cursor(
        sandbox: Any, seed_incident: Seed, crew: dict[str, str]) -> None:
    """Slack read fine, Jira keeps answering 500: retried, then reported; the cursor stays."""
    from tasks.state import load_incident

    inc = seed_incident()
    ch, key = inc["channel_id"], inc["key"]
    sandbox.post_message(ch, crew["ann"], "first")
    first = backup(ch, requested_by=crew["ann"])
    cursor = load_incident(ch).backup_cursor
    sandbox.post_message(ch, crew["ann"], "second")
    uploads = len(sandbox.requests("jira", f"POST /rest/api/2/issue/{key}/attachments"))
    sandbox.inject_fault("jira", f"POST /rest/api/2/issue/{key}/attachments", 500, times=1000)
    try:
        with pytest.raises(Exception):  # noqa: B017 - the jira library's error for a 500
            backup(ch, requested_by=crew["ann"])
    finally:
        clear_faults(sandbox)
    tries = sandbox.requests("jira", f"POST /rest/api/2/issue/{key}/attachments")[uploads:]
    assert len(tries) > 1 and {t.status for t in tries} == {500}  # retried, never stored
    failed = [t for t in notices(sandbox, ch) if t.startswith("Backup failed")]
    assert len(failed) == 1 and "Nothing was lost" in failed[0]
    state = load_incident(ch)
    assert state.backup_cursor == cursor
    assert state.transcript_attachment_id == first["attachment_id"]
    assert [a["id"] for a in transcripts(sandbox, key)] == [first["attachment_id"]]
    assert sum("SHA-256" in c for c in sandbox.jira_issue(key)["comments"]) == 1


def test_refused_backup_comment_is_not_lost(sandbox: Any, seed_incident: Seed,
                                            crew: dict[str, str]) -> None:
    from tasks.state import load_incident

    inc = seed_incident()
    ch, key = inc["channel_id"], inc["key"]
    for i in range(2):
        sandbox.post_message(ch, crew["ann"], f"to be recorded {i}")
    sandbox.inject_fault("jira", f"POST /rest/api/2/issue/{key}/comment", 400, times=1)
    with pytest.raises(JIRAError):  # Jira refused the backup's comment: the run fails
        backup(ch, requested_by=crew["ann"])
    failed = [t for t in notices(sandbox, ch) if t.startswith("Backup failed")]
    assert failed and "starts from the same point" in failed[-1]
    assert load_incident(ch).backup_cursor == "", "the notice says the cursor did not move"
    clear_faults(sandbox)
    backup(ch, requested_by=crew["ann"])
    assert read_transcript(sandbox, key)["ts"].tolist() == expected_rows(sandbox, ch)
    recorded = [c for c in sandbox.jira_issue(key)["comments"] if "SHA-256" in c]
    assert recorded and "2 new messages" in recorded[0], recorded


def test_operator_run_without_requester(sandbox: Any, seed_incident: Seed,
                                        crew: dict[str, str]) -> None:
    inc = seed_incident()
    ch = inc["channel_id"]
    sandbox.post_message(ch, crew["ann"], "operator backup please")
    result = backup(ch)
    assert result["new_messages"] == 1
    assert any("an operator" in t for t in notices(sandbox, ch))
    comments = [c for c in sandbox.jira_issue(inc["key"])["comments"] if "SHA-256" in c]
    assert len(comments) == 1 and "an operator" in comments[0]
    assert read_transcript(sandbox, inc["key"])["ts"].tolist() == expected_rows(sandbox, ch)
