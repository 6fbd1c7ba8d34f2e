"""A backup merged into the stored transcript: nothing lost, edits and deletions added (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tasks.transcript import COLUMNS, messages_to_frame, neutralise, read_csv, to_csv
from tasks.transcript_merge import (
    apply_backup,
    fingerprint,
    masked_in,
    redact_frame,
    seen_missing,
    timeline,
    union_files,
)

NAMES = {"U1": "alice", "U2": "bob"}
LEGACY = Path(__file__).parent / "fixtures" / "transcript_v1.csv"  # written by irbot 0.1
SEEN = "2024-01-01T00:00:00Z"
P, R1, R2, T = "1700000000.000100", "1700000001.000100", "1700000002.000100", "1700000003.000100"


def frame(*messages: dict[str, Any]) -> pd.DataFrame:
    return neutralise(messages_to_frame(messages, NAMES))


def msg(ts: str, text: str, user: str = "U1", **more: Any) -> dict[str, Any]:
    return {"ts": ts, "text": text, "user": user, **more}


def merged(stored: pd.DataFrame, *fresh: dict[str, Any], reread: set[str] | None = None,
           listed: set[str] | None = None) -> tuple[pd.DataFrame, Any]:
    new = frame(*fresh)
    return apply_backup(stored, new, set(new["ts"]) | (listed or set()), reread or set(), SEEN)


def by_ts(result: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {r["ts"]: r for r in result.to_dict("records")}


THREAD = [msg(P, "parent", thread_ts=P, reply_count=2, latest_reply=R2),
          msg(R1, "first reply", "U2", thread_ts=P),
          msg(R2, "loud reply", "U2", thread_ts=P, subtype="thread_broadcast")]


def test_first_backup_counts_messages_and_replies_once() -> None:
    result, changes = merged(frame(), *THREAD)
    assert list(result.columns) == COLUMNS
    assert list(result["ts"]) == [P, R1, R2]
    assert (changes.new_messages, changes.new_replies, changes.edited, changes.deleted) == \
        (2, 1, 0, 0)
    again, repeat = merged(result, *THREAD)
    assert again.equals(result) and not repeat.any  # a repeated backup changes nothing


def test_a_reply_to_an_old_thread_is_a_row_of_its_own() -> None:
    stored, _ = merged(frame(), THREAD[0])
    late = msg(T, "late reply", "U2", thread_ts=P)
    result, changes = merged(stored, THREAD[0], late, reread={P})
    assert by_ts(result)[T]["thread_ts"] == P and changes.new_replies == 1


def test_an_edit_keeps_the_text_first_stored() -> None:
    stored, _ = merged(frame(), msg(P, "first words"))
    once, changes = merged(stored, msg(P, "second words", edited={"ts": R1}))
    row = by_ts(once)[P]
    assert (row["text"], row["text_first_stored"]) == ("second words", "first words")
    assert row["edited_at"] == "2023-11-14T22:13:21.000100Z" and changes.edited == 1
    twice, _ = merged(once, msg(P, "=third", edited={"ts": R2}))
    assert (by_ts(twice)[P]["text"], by_ts(twice)[P]["text_first_stored"]) == \
        ("'=third", "first words")


def test_an_edit_before_the_first_backup_is_not_an_edit_of_the_transcript() -> None:
    result, changes = merged(frame(), msg(P, "already edited", edited={"ts": R1}))
    assert by_ts(result)[P]["text_first_stored"] == "" and changes.edited == 0
    assert by_ts(result)[P]["edited_at"]


@pytest.mark.parametrize(("reread", "listed", "deleted"), [
    (set(), {P}, {P: False, R1: False}),  # thread not re-read: its reply cannot be judged
    ({P}, {P}, {P: False, R1: True}),  # re-read without the reply: deleted
    (set(), set(), {P: True, R1: True}),  # parent and thread gone
])
def test_deletions_are_marked_never_dropped(reread: set[str], listed: set[str],
                                            deleted: dict[str, bool]) -> None:
    stored, _ = merged(frame(), *THREAD[:2])
    result, changes = apply_backup(stored, frame(), listed, reread, SEEN)
    rows = by_ts(result)
    assert set(rows) == {P, R1}
    assert {ts: bool(rows[ts]["deleted_at"]) for ts in rows} == deleted
    assert all(rows[ts]["deleted_at"] == seen_missing(SEEN) for ts in rows if deleted[ts])
    assert rows[R1]["text"] == "first reply" and changes.deleted == sum(deleted.values())


def test_a_tombstone_keeps_the_stored_text() -> None:
    stored, _ = merged(frame(), *THREAD[:2])
    stone = msg(P, "This message was deleted.", "USLACKBOT", subtype="tombstone", thread_ts=P)
    result, changes = merged(stored, stone, THREAD[1], reread={P})
    row = by_ts(result)[P]
    assert row["text"] == "parent" and row["deleted_at"] and row["subtype"] == ""
    assert changes.deleted == 1
    fresh_stone, _ = merged(frame(), stone)
    assert by_ts(fresh_stone)[P]["deleted_at"] == seen_missing(SEEN)


def test_reactions_flags_and_files() -> None:
    files = [{"id": "F1", "name": "a.png", "mimetype": "image/png",
              "permalink": "https://x/F1"}]
    stored, _ = merged(frame(), msg(P, "look", files=files))
    result, _ = merged(stored, msg(P, "look", reactions=[
        {"name": "eyes", "count": 3, "users": []}, {"name": "pushpin", "count": 1}],
        pinned_to=["C1"], files=[]))
    row = by_ts(result)[P]
    assert row["reactions"] == ":eyes: 3, :pushpin: 1"
    assert row["flagged"] == "pinned, :pushpin:"
    assert row["files"] == "a.png (image/png) <https://x/F1>"  # a file once seen stays


@pytest.mark.parametrize(("old", "new", "union"), [
    ("", "a <1>: x", "a <1>: x"),
    ("a <1>: x", "", "a <1>: x"),
    ("a <1>: too big", "a <1>: attached", "a <1>: attached"),
    ("a <1>: x", "b <2>: y", "a <1>: x\nb <2>: y"),
])
def test_union_files(old: str, new: str, union: str) -> None:
    assert union_files(old, new) == union


def test_a_legacy_transcript_is_read_and_extended_without_loss() -> None:
    data = LEGACY.read_bytes()
    legacy = pd.read_csv(LEGACY, dtype=str, keep_default_na=False)
    stored, masked = redact_frame(read_csv(data))
    assert masked == 2  # the password in text and in text_raw
    assert stored.loc[3, "text"] == "our db password=[redacted: Secret Keyword] oops"
    fresh = [
        msg("1700000000.000100", "Spike of failed VPN logins <@U2>"),
        msg("1700000001.000200", "=HYPERLINK(\"http://evil\")", "U2"),
        msg("1700000002.000300", "thread parent", thread_ts="1700000002.000300"),
        msg("1700000002.500000", "a reply at last", "U2", thread_ts="1700000002.000300"),
        msg("1700000003.000000", "our db password=[redacted: Secret Keyword] oops", "U2"),
        {"bot_id": "B1", "subtype": "bot_message", "bot_profile": {"name": "Grafana"},
         "ts": "1700000004.000400", "text": "CPU at 99%\nsecond line"},
        msg("1700000005.000500", "edited now", edited={"ts": "1700000009.000000"}),
    ]  # and 1700000006.000600 was deleted
    result, changes = merged(stored, *fresh, reread={"1700000002.000300"})
    assert (changes.new_replies, changes.edited, changes.deleted) == (1, 1, 1)
    back = read_csv(to_csv(result))
    assert set(legacy["ts"]) <= set(back["ts"])
    rows = back.set_index("ts").loc[legacy["ts"]]
    for column in legacy.columns.drop("ts"):  # every legacy cell survives, but for two
        diffs = [(a, b) for a, b in zip(rows[column], legacy[column], strict=True) if a != b]
        # text and text_raw: the masked secret, and the edit (its first text kept aside)
        assert len(diffs) == (2 if column in ("text", "text_raw") else 0), (column, diffs)
    by = by_ts(back)
    assert by["1700000005.000500"]["text_first_stored"] == "will be edited later"
    assert by["1700000006.000600"]["deleted_at"] == seen_missing(SEEN)
    assert masked_in(back) == 1


def test_fingerprint_sees_what_the_transcript_stores() -> None:
    base = [msg(P, "a"), msg(R1, "b")]
    same = fingerprint(base)
    assert fingerprint([msg(P, "a"), msg(R1, "b", reply_count=4)]) == same
    for changed in ([msg(P, "a!"), msg(R1, "b")], [msg(P, "a")],
                    [msg(P, "a", edited={"ts": T}), msg(R1, "b")],
                    [msg(P, "a", reactions=[{"name": "eyes", "count": 1}]), msg(R1, "b")],
                    [msg(P, "a", pinned_to=["C"]), msg(R1, "b")]):
        assert fingerprint(changed) != same


def test_timeline_lists_flagged_messages_in_order() -> None:
    stored, _ = merged(frame(), msg(P, "=first alert", pinned_to=["C1"]), msg(R1, "chatter"),
                       msg(R2, "mitigated", "U2", reactions=[{"name": "pushpin", "count": 1}]))
    assert timeline(stored) == (
        "Timeline (messages flagged in Slack with the timeline emoji or pinned):\n"
        "* 2023-11-14 22:13:20 UTC, alice: =first alert\n"
        "* 2023-11-14 22:13:22 UTC, bob: mitigated")
    assert timeline(merged(frame(), msg(P, "x"))[0]) is None
