"""`/irbot archive` end to end: announce, Cancel / Archive now / deadline, final backup, archive."""

from __future__ import annotations

from typing import Any

from sandbox.driver import SlackDriver, wait_for
from tasks.messages import ARCHIVE_CANCEL_ACTION, ARCHIVE_NOW_ACTION
from tests.support import read_transcript


def announcement(sandbox: Any, channel: str) -> dict[str, Any]:
    """The newest archive announcement that still has its buttons."""
    def find() -> dict[str, Any] | None:
        for msg in reversed(sandbox.messages(channel)):
            if any(b.get("type") == "actions" for b in msg.get("blocks") or []):
                return dict(msg)
        return None
    return wait_for(find, timeout=40, what="the archive announcement")


def message_at(sandbox: Any, channel: str, ts: str) -> dict[str, Any]:
    return next(m for m in sandbox.messages(channel) if m["ts"] == ts)


def test_cancel_button_keeps_the_channel(driver: SlackDriver, sandbox: Any,
                                         people: dict[str, str],
                                         incident: dict[str, Any]) -> None:
    ch = incident["channel_id"]
    reply = driver.command("archive", people["alice"], ch, incident["name"])
    assert reply.status == 200
    msg = announcement(sandbox, ch)
    assert "Cancel" in str(msg["blocks"])
    click = driver.click(ch, msg, ARCHIVE_CANCEL_ACTION, people["bob"])
    assert click.status == 200
    wait_for(lambda: "cancelled by" in message_at(sandbox, ch, msg["ts"])["text"],
             timeout=30, what="the announcement to say cancelled")
    updated = message_at(sandbox, ch, msg["ts"])
    assert people["bob"] in updated["text"]
    assert not any(b.get("type") == "actions" for b in updated.get("blocks") or [])
    assert not sandbox.channel(ch)["is_archived"]
    # A second click on the old buttons changes nothing and says so.
    again = driver.click(ch, msg, ARCHIVE_CANCEL_ACTION, people["alice"])
    assert again.status == 200
    assert "already" in driver.wait_answer(again.response_url)["text"]
    status = driver.command("status", people["alice"], ch, incident["name"])
    assert incident["key"] in driver.wait_answer(status.response_url)["text"]


def test_archive_now_takes_final_backup_then_archives(driver: SlackDriver, sandbox: Any,
                                                      people: dict[str, str],
                                                      incident: dict[str, Any]) -> None:
    ch = incident["channel_id"]
    driver.command("archive", people["alice"], ch, incident["name"])
    msg = announcement(sandbox, ch)
    late = sandbox.post_message(ch, people["bob"], "posted during the wait")
    driver.click(ch, msg, ARCHIVE_NOW_ACTION, people["bob"])
    wait_for(lambda: sandbox.channel(ch)["is_archived"], timeout=60, what="archive")
    assert late in set(read_transcript(sandbox, incident["key"])["ts"])
    wait_for(lambda: any("archived" in c for c in sandbox.jira_issue(incident["key"])["comments"]),
             timeout=20, what="the archive comment on Jira")
    reply = driver.command("backup", people["alice"], ch, incident["name"])
    assert "closed" in driver.wait_answer(reply.response_url)["text"]


def test_deadline_archives_without_a_click(driver: SlackDriver, sandbox: Any,
                                          people: dict[str, str],
                                          incident: dict[str, Any]) -> None:
    ch = incident["channel_id"]
    driver.command("archive", people["alice"], ch, incident["name"])
    announcement(sandbox, ch)
    pending = driver.command("archive", people["bob"], ch, incident["name"])
    assert "already pending" in driver.wait_answer(pending.response_url)["text"]
    wait_for(lambda: sandbox.channel(ch)["is_archived"], timeout=60, what="archive at deadline")
