"""archive-incident's steps after the channel is archived, as a re-run after a crash runs them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import flow


@flow(name="irbot-test-announcement-update")
def _update(channel_id: str, ts: str, text: str) -> None:
    from flows.archive import _update_announcement
    from tasks.clients import slack_client
    from tasks.state import load_incident

    state = load_incident(channel_id)
    state.archive_message_ts = ts
    _update_announcement(slack_client(), state, text)


def test_a_rerun_after_the_channel_was_archived_updates_nothing_and_goes_on(
        sandbox: Any, seed_incident: Callable[..., dict[str, str]]) -> None:
    """Killed once Slack archived the channel: the re-run's announcement update (Slack answers
    is_archived) must not fail the run, or the archive would never be recorded on Jira."""
    from tasks.clients import slack_client

    inc = seed_incident()
    slack = slack_client()
    ts = str(slack.chat_postMessage(channel=inc["channel_id"], text="asked to archive")["ts"])
    _update(inc["channel_id"], ts, "Final backup saved. This channel is archived.")
    slack.conversations_archive(channel=inc["channel_id"])

    _update(inc["channel_id"], ts, "Final backup saved. This channel is archived.")
    [text] = [m["text"] for m in sandbox.messages(inc["channel_id"]) if m["ts"] == ts]
    assert text.startswith("Final backup saved")
