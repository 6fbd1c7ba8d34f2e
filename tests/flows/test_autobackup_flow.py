"""autobackup-incident: busy incidents backed up quietly, quiet ones not touched at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.flows.support import expected_rows, slack_calls
from tests.support import read_transcript

Seed = Callable[..., dict[str, str]]


def test_automatic_backup_saves_the_busy_and_leaves_the_quiet_alone(
        sandbox: Any, seed_incident: Seed, crew: dict[str, str]) -> None:
    from flows.autobackup import autobackup_incidents
    from flows.backup import backup_incident
    from tasks.state import delete_incident, load_incident

    quiet, busy, gone = seed_incident(), seed_incident(), seed_incident()
    for inc in (quiet, busy):
        sandbox.post_message(inc["channel_id"], crew["ann"], "before the schedule")
        backup_incident(inc["channel_id"], requested_by=crew["ann"])
    delete_incident(gone["channel_id"])  # archived meanwhile
    sandbox.post_message(busy["channel_id"], crew["ben"], "new since the last backup")
    sandbox.add_reaction(busy["channel_id"],
                         sandbox.messages(busy["channel_id"])[0]["ts"], crew["ben"], "eyes")
    cursor = load_incident(quiet["channel_id"]).backup_cursor
    jira_mark, post_mark = len(sandbox.requests("jira")), len(
        sandbox.requests("slack", "chat.postMessage"))

    result = autobackup_incidents([quiet["channel_id"], busy["channel_id"],
                                   gone["channel_id"]])

    assert result == {"incidents": {quiet["channel_id"]: "quiet", busy["channel_id"]: "saved",
                                    gone["channel_id"]: "closed"}}
    touched = [r.path for r in sandbox.requests("jira")[jira_mark:]]
    assert touched and not [p for p in touched if quiet["key"] in p]  # no Jira call at all
    assert all(busy["key"] in p or "/attachment/" in p for p in touched)
    for inc in (quiet, busy):  # no notice in either channel
        assert slack_calls(sandbox, "chat.postMessage", post_mark,
                           channel=inc["channel_id"]) == []
    assert load_incident(quiet["channel_id"]).backup_cursor == cursor
    csv = read_transcript(sandbox, busy["key"])
    assert csv["ts"].tolist() == expected_rows(sandbox, busy["channel_id"])
    assert ":eyes: 1" in csv["reactions"].tolist()
    comment = sandbox.jira_issue(busy["key"])["comments"][-1]
    assert comment.startswith("irbot backup (requested by the automatic backup): 1 new")
