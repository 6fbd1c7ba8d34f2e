"""`/irbot backup` end to end: the transcript on Jira, exactly once."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from sandbox.driver import SlackDriver
from tests.e2e.support_runs import run_backup


def transcript(sandbox: Any, key: str) -> pd.DataFrame:
    """The one transcript CSV on the case, read as strings."""
    files = [a for a in sandbox.jira_issue(key)["attachments"] if a["filename"].endswith(".csv")]
    assert len(files) == 1, [a["filename"] for a in files]
    return pd.read_csv(io.BytesIO(files[0]["content"]), dtype=str, keep_default_na=False)


def test_backup_twice_appends_only_new_messages(driver: SlackDriver, sandbox: Any,
                                                people: dict[str, str],
                                                incident: dict[str, Any]) -> None:
    ch, alice, bob = incident["channel_id"], people["alice"], people["bob"]
    first = [sandbox.post_message(ch, alice, f"message {i}") for i in range(5)]
    sandbox.post_message(ch, bob, "=HYPERLINK(\"http://evil\")")
    sandbox.post_message(ch, alice, "thread reply", thread_ts=first[0])
    outcome = run_backup(driver, sandbox, alice, incident)
    assert outcome.startswith("Backup saved")
    csv1 = transcript(sandbox, incident["key"])
    assert {"ts", "datetime_utc", "user_id", "user_name", "text", "thread_ts",
            "subtype"} <= set(csv1.columns)
    assert set(first) <= set(csv1["ts"])
    assert csv1.set_index("text").loc["thread reply", "thread_ts"] == first[0]  # its own row
    assert "'=HYPERLINK(\"http://evil\")" in set(csv1["text"])
    assert csv1["ts"].is_unique and list(csv1["ts"]) == sorted(csv1["ts"], key=float)

    later = [sandbox.post_message(ch, bob, f"later {i}") for i in range(3)]
    assert run_backup(driver, sandbox, bob, incident).startswith("Backup saved")
    csv2 = transcript(sandbox, incident["key"])
    assert list(csv2["ts"][: len(csv1)]) == list(csv1["ts"])
    assert set(later) <= set(csv2["ts"]) and csv2["ts"].is_unique

    assert run_backup(driver, sandbox, bob, incident).startswith("Nothing new")
    assert transcript(sandbox, incident["key"])["ts"].tolist() == csv2["ts"].tolist()
    comments = sandbox.jira_issue(incident["key"])["comments"]
    assert sum("SHA-256" in c for c in comments) == 2
