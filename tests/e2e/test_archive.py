"""`/irbot archive` end to end, the short way: Archive now, final backup, archive, closed.

Cancel, the deadline and every other way out of the wait are in test_archive_wait.py.
"""

from __future__ import annotations

from typing import Any

from sandbox.driver import SlackDriver, wait_for
from tasks.messages import ARCHIVE_NOW_ACTION
from tests.e2e.support_runs import wait_announcement
from tests.support import read_transcript


def test_archive_now_takes_final_backup_then_archives(driver: SlackDriver, sandbox: Any,
                                                      people: dict[str, str],
                                                      incident: dict[str, Any]) -> None:
    ch = incident["channel_id"]
    driver.command("archive", people["alice"], ch, incident["name"])
    msg = wait_announcement(sandbox, ch)
    late = sandbox.post_message(ch, people["bob"], "posted during the wait")
    driver.click(ch, msg, ARCHIVE_NOW_ACTION, people["bob"])
    wait_for(lambda: sandbox.channel(ch)["is_archived"], timeout=60, what="archive")
    assert late in set(read_transcript(sandbox, incident["key"])["ts"])
    wait_for(lambda: any("archived" in c for c in sandbox.jira_issue(incident["key"])["comments"]),
             timeout=20, what="the archive comment on Jira")
    reply = driver.command("backup", people["alice"], ch, incident["name"])
    assert "closed" in driver.wait_answer(reply.response_url)["text"]
