"""`/irbot backup` end to end: the transcript on Jira, exactly once."""

from __future__ import annotations

from typing import Any

from sandbox.driver import SlackDriver
from tests.e2e.support_runs import run_backup
from tests.support import read_transcript


def test_backup_twice_appends_only_new_messages(driver: SlackDriver, sandbox: Any,
                                                people: dict[str, str],
                                                incident: dict[str, Any]) -> None:
    ch, alice, bob = incident["channel_id"], people["alice"], people["bob"]
    first = [sandbox.post_message(ch, alice, f"message {i}") for i in range(5)]
    sandbox.post_message(ch, bob, "=HYPERLINK(\"http://evil\")")
    sandbox.post_message(ch, alice, "thread reply", thread_ts=first[0])
    outcome = run_backup(driver, sandbox, alice, incident)
    assert outcome.startswith("Backup saved")
    csv1 = read_transcript(sandbox, incident["key"])
    assert {"ts", "datetime_utc", "user_id", "user_name", "text", "thread_ts",
            "subtype"} <= set(csv1.columns)
    assert set(first) <= set(csv1["ts"])
    assert csv1.set_index("text").loc["thread reply", "thread_ts"] == first[0]  # its own row
    assert "'=HYPERLINK(\"http://evil\")" in set(csv1["text"])
    assert csv1["ts"].is_unique and list(csv1["ts"]) == sorted(csv1["ts"], key=float)

    later = [sandbox.post_message(ch, bob, f"later {i}") for i in range(3)]
    assert run_backup(driver, sandbox, bob, incident).startswith("Backup saved")
    csv2 = read_transcript(sandbox, incident["key"])
    assert list(csv2["ts"][: len(csv1)]) == list(csv1["ts"])
    assert set(later) <= set(csv2["ts"]) and csv2["ts"].is_unique

    assert run_backup(driver, sandbox, bob, incident).startswith("Nothing new")
    assert read_transcript(sandbox, incident["key"])["ts"].tolist() == csv2["ts"].tolist()
    comments = sandbox.jira_issue(incident["key"])["comments"]
    assert sum("SHA-256" in c for c in comments) == 2
