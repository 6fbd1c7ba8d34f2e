"""What a backup reads and what the final check finds missing (pure)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from tasks.activity import check_complete, cursor_after, threads_to_read
from tasks.transcript import messages_to_frame

P1, P2, R1, R2 = "1700000001.000000", "1700000002.000000", "1700000003.000000", "1700000004.0"
HISTORY = [
    {"ts": P1, "thread_ts": P1, "reply_count": 1, "latest_reply": R1},
    {"ts": P2, "thread_ts": P2, "reply_count": 2, "latest_reply": R2},
    {"ts": "1700000005.000000"},
    {"ts": R2, "thread_ts": P2, "subtype": "thread_broadcast"},
]


@pytest.mark.parametrize(("cursor", "every", "threads"), [
    ("", False, [P1, P2]),
    (R1, False, [P2]),
    ("1700000005.000000", False, []),
    ("1700000005.000000", True, [P1, P2]),
])
def test_threads_to_read(cursor: str, every: bool, threads: list[str]) -> None:
    assert threads_to_read(HISTORY, cursor, every) == threads


@pytest.mark.parametrize(("history", "replies", "previous", "cursor"), [
    ([], [], "", ""),
    ([], [], "1700000000.5", "1700000000.5"),
    (HISTORY, [], "", "1700000005.000000"),
    ([{"ts": "1.1", "latest_reply": "9.000100"}], [], "2.0", "9.000100"),  # a newer reply
    ([{"ts": "1.1"}], [{"ts": "3.25"}], "", "3.25"),
])
def test_cursor_counts_every_latest_reply(history: list[dict[str, Any]],
                                          replies: list[dict[str, Any]], previous: str,
                                          cursor: str) -> None:
    assert cursor_after(history, replies, previous) == cursor


def frame(*messages: dict[str, Any]) -> pd.DataFrame:
    return messages_to_frame([{"user": "U1", "text": "x", **m} for m in messages], {})


FILE = {"id": "F1", "name": "a.png", "mimetype": "image/png", "permalink": "https://x/F1"}


def test_complete_transcript() -> None:
    listing = [{"ts": P1, "thread_ts": P1}, {"ts": R1, "thread_ts": P1, "files": [FILE]}]
    check = check_complete(listing, frame(*listing), up_to=R1)
    assert check.summary() == "complete: 1 messages, 1 replies, 1 files; 0 missing"


def test_gaps_are_named_and_later_messages_ignored() -> None:
    listing = [{"ts": P1, "thread_ts": P1}, {"ts": R1, "thread_ts": P1},
               {"ts": P2, "files": [FILE]}, {"ts": R2}]
    stored = frame({"ts": P1, "thread_ts": P1}, {"ts": P2})  # no reply, no file
    check = check_complete(listing, stored, up_to=R1)
    assert not check.complete
    assert check.missing == [f"reply {R1}", f"file F1 of message {P2}"]
    assert check.summary().startswith("INCOMPLETE: 2 messages, 1 replies, 1 files; 2 missing")
