"""Slack messages → transcript frame → merged, neutralised CSV (pure pandas)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from tasks.transcript import (
    COLUMNS,
    author_ids,
    merge,
    messages_to_frame,
    neutralise,
    neutralise_cell,
    read_csv,
    to_csv,
    utc_time,
    utc_times,
)

NAMES = {"U1": "alice", "U2": "bob", "W3": "carol"}
CONTRACT_COLUMNS = ["ts", "datetime_utc", "user_id", "user_name", "text", "thread_ts", "subtype"]


def row(message: dict[str, Any], names: dict[str, str] = NAMES) -> dict[str, str]:
    frame = messages_to_frame([message], names)
    assert list(frame.columns) == COLUMNS
    assert len(frame) == 1
    return {k: v for k, v in frame.iloc[0].items()}


def test_utc_times_formats_each_ts_as_utc_time_does() -> None:
    stamps = ["1700000000.000100", "1700000001.5", "1700000002", "0.000001", "1999999999.999999"]
    assert utc_times(stamps) == [utc_time(ts) for ts in stamps]
    assert utc_times([]) == []


def test_columns_include_the_contract() -> None:
    assert set(CONTRACT_COLUMNS) <= set(COLUMNS)
    assert COLUMNS[0] == "ts"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"type": "message", "user": "U1", "text": "hello", "ts": "1700000000.000100"},
         {"ts": "1700000000.000100", "datetime_utc": "2023-11-14T22:13:20.000100Z",
          "user_id": "U1", "user_name": "alice", "text": "hello", "text_raw": "hello",
          "thread_ts": "", "subtype": ""}),
        ({"type": "message", "subtype": "bot_message", "bot_id": "B1", "username": "ignored",
          "bot_profile": {"name": "Grafana"}, "text": "alert", "ts": "1700000001.000200"},
         {"user_id": "B1", "user_name": "Grafana", "subtype": "bot_message"}),
        ({"type": "message", "subtype": "bot_message", "bot_id": "B2", "username": "deploybot",
          "text": "shipped", "ts": "1700000002.000300"},
         {"user_id": "B2", "user_name": "deploybot", "text": "shipped"}),
        ({"type": "message", "bot_id": "B3", "text": "x", "ts": "1700000002.000400"},
         {"user_id": "B3", "user_name": "B3"}),
        ({"type": "message", "bot_id": "B4", "user": "U777", "bot_profile": {"name": "irbot"},
          "text": "x", "ts": "1700000002.000500"},
         {"user_id": "U777", "user_name": "irbot"}),
        ({"type": "message", "subtype": "channel_join", "user": "U2",
          "text": "<@U2> has joined the channel", "ts": "1700000003.000000"},
         {"user_id": "U2", "user_name": "bob", "subtype": "channel_join",
          "text": "@bob has joined the channel", "text_raw": "<@U2> has joined the channel"}),
        ({"type": "message", "user": "U1", "text": "parent", "ts": "1700000004.000100",
          "thread_ts": "1700000004.000100", "reply_count": 2},
         {"thread_ts": "1700000004.000100"}),
        ({"type": "message", "user": "U2", "text": "reply", "ts": "1700000005.000100",
          "thread_ts": "1700000004.000100", "parent_user_id": "U1"},
         {"ts": "1700000005.000100", "thread_ts": "1700000004.000100"}),
        ({"type": "message", "user": "U9", "text": "who?", "ts": "1700000006.000100"},
         {"user_id": "U9", "user_name": "U9"}),
        ({"type": "message", "user": "U1", "ts": "1700000007.000100"},
         {"text": "", "text_raw": ""}),
        ({"type": "message", "user": "U1", "text": None, "ts": "1700000007.000200"},
         {"text": "", "text_raw": ""}),
    ],
)
def test_message_rows(message: dict[str, Any], expected: dict[str, str]) -> None:
    got = row(message)
    assert {k: got[k] for k in expected} == expected
    assert all(isinstance(v, str) for v in got.values())


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("<@U1> look", "@alice look"),
        ("<@U1|someone> look", "@alice look"),
        ("<@U8|dave> look", "@dave look"),
        ("<@U8> look", "@U8 look"),
        ("<@W3>", "@carol"),
        ("see <#C1|ops>", "see #ops"),
        ("see <#C1>", "see #C1"),
        ("<!here> now", "@here now"),
        ("<!channel>", "@channel"),
        ("<!everyone|everyone>", "@everyone"),
        ("<!subteam^S1|@oncall> wake up", "@oncall wake up"),
        ("<!subteam^S1>", "@group"),
        ("a &lt; b &gt; c &amp; d", "a < b > c & d"),
        ("&amp;lt;", "&lt;"),
        ("<@U1> &amp; <@U2>", "@alice & @bob"),
        ("no markup", "no markup"),
        ("", ""),
    ],
)
def test_text_rendering_keeps_raw(raw: str, text: str) -> None:
    got = row({"user": "U2", "text": raw, "ts": "1700000000.000001"})
    assert got["text"] == text
    assert got["text_raw"] == raw


@pytest.mark.parametrize(
    ("ts", "iso"),
    [
        ("1700000000.000100", "2023-11-14T22:13:20.000100Z"),
        ("1700000000.123456", "2023-11-14T22:13:20.123456Z"),
        ("1000000000.000001", "2001-09-09T01:46:40.000001Z"),
        ("999999999.999999", "2001-09-09T01:46:39.999999Z"),
        ("1700000000.000000", "2023-11-14T22:13:20.000000Z"),
    ],
)
def test_ts_kept_exactly_and_datetime_is_iso_utc(ts: str, iso: str) -> None:
    got = row({"user": "U1", "text": "t", "ts": ts})
    assert got["ts"] == ts
    assert got["datetime_utc"] == iso


@pytest.mark.parametrize(
    ("messages", "ids"),
    [
        ([], set()),
        ([{"user": "U1", "text": "hi"}], {"U1"}),
        ([{"user": "U1", "text": "hi <@U2> and <@W3|carol>"}], {"U1", "U2", "W3"}),
        ([{"bot_id": "B1", "user": "U5", "text": "ping <@U2>"}], {"U2"}),
        ([{"bot_id": "B1", "username": "x", "text": "none"}], set()),
        ([{"subtype": "channel_join", "user": "U4", "text": "<@U4> has joined"}], {"U4"}),
        ([{"user": "U1", "text": "<#C1|ops> <!here> <!subteam^S1|@x>"}], {"U1"}),
        ([{"user": "U1"}, {"user": "U1", "text": "<@U1>"}], {"U1"}),
        ([{"text": "<@U1>", "user": None}], {"U1"}),
    ],
)
def test_author_ids(messages: list[dict[str, Any]], ids: set[str]) -> None:
    assert author_ids(messages) == ids


# --- merge --------------------------------------------------------------------------------


def frame(*pairs: tuple[str, str]) -> pd.DataFrame:
    return messages_to_frame([{"user": "U1", "ts": ts, "text": t} for ts, t in pairs], NAMES)


@pytest.mark.parametrize(
    ("frames", "ts_order", "texts"),
    [
        ([], [], []),
        ([frame()], [], []),
        ([frame(), frame()], [], []),
        ([frame(("1700000000.000100", "a"))], ["1700000000.000100"], ["a"]),
        ([frame(("1700000000.000200", "b"), ("1700000000.000100", "a"))],
         ["1700000000.000100", "1700000000.000200"], ["a", "b"]),
        ([frame(("1700000000.000100", "old")), frame(("1700000000.000100", "new"))],
         ["1700000000.000100"], ["old"]),
        ([frame(("1700000000.000100", "a"), ("1700000000.000200", "b")),
          frame(("1700000000.000200", "b2"), ("1700000000.000300", "c"))],
         ["1700000000.000100", "1700000000.000200", "1700000000.000300"], ["a", "b", "c"]),
        ([frame(("1000000000.000001", "later")), frame(("999999999.000001", "earlier"))],
         ["999999999.000001", "1000000000.000001"], ["earlier", "later"]),
        ([frame(("1700000000.000010", "y"), ("1700000000.000009", "x"))],
         ["1700000000.000009", "1700000000.000010"], ["x", "y"]),
        ([frame(("1700000000.000100", "a")), frame(), frame(("1700000000.000100", "dup"))],
         ["1700000000.000100"], ["a"]),
    ],
)
def test_merge(frames: list[pd.DataFrame], ts_order: list[str], texts: list[str]) -> None:
    merged = merge(frames)
    assert list(merged.columns)[: len(COLUMNS)] == COLUMNS
    assert list(merged["ts"]) == ts_order
    assert list(merged["text"]) == texts
    assert list(merged.index) == list(range(len(ts_order)))


def test_merge_of_a_stored_csv_and_new_messages_never_duplicates() -> None:
    stored = read_csv(to_csv(frame(("1700000000.000100", "a"), ("1700000000.000200", "b"))))
    again = merge([stored, frame(("1700000000.000200", "b"), ("1700000000.000300", "c"))])
    assert list(again["ts"]) == ["1700000000.000100", "1700000000.000200", "1700000000.000300"]
    assert merge([again, again]).equals(again)


# --- neutralise ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("=", "'="),
        ("hello", "hello"),
        ("", ""),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("'=already", "'=already"),
        ("1700000000.000100", "1700000000.000100"),
        ("#ops", "#ops"),
    ],
)
def test_neutralise_cell(cell: str, safe: str) -> None:
    assert neutralise_cell(cell) == safe
    assert neutralise_cell(neutralise_cell(cell)) == safe  # idempotent


@pytest.mark.parametrize("value", [None, 1, 1.5, math.inf])
def test_neutralise_cell_leaves_non_strings(value: Any) -> None:
    assert neutralise_cell(value) is value


def test_neutralise_frame_is_idempotent_and_leaves_safe_cells() -> None:
    original = messages_to_frame([
        {"user": "U1", "ts": "1700000000.000100", "text": "=HYPERLINK(\"x\")"},
        {"user": "U2", "ts": "1700000000.000200", "text": "-rf /"},
        {"user": "U1", "ts": "1700000000.000300", "text": "fine"},
        {"bot_id": "B1", "username": "@bot", "ts": "1700000000.000400", "text": "+1"},
    ], NAMES)
    once = neutralise(original)
    assert list(once["text"]) == ["'=HYPERLINK(\"x\")", "'-rf /", "fine", "'+1"]
    assert list(once["user_name"]) == ["alice", "bob", "alice", "'@bot"]
    assert list(once["ts"]) == list(original["ts"])
    assert neutralise(once).equals(once)
    assert original.iloc[0]["text"] == "=HYPERLINK(\"x\")"  # input not mutated


# --- CSV round trip ------------------------------------------------------------------------

TRICKY_TEXTS = [
    "plain",
    "",
    "comma, inside",
    'say "quoted"',
    '"',
    "line one\nline two",
    "windows\r\nline",
    "lone\rcarriage",
    "'\r=neutralised",
    "emoji 🔥🚒 and ünïcødé 日本語",
    "NA",
    "null",
    "NaN",
    "None",
    "  padded  ",
    "#not a comment",
    "1e5",
    "007",
    "'=quoted formula",
    "\\back\\slash",
    "tab\tinside",
]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_csv_round_trip_keeps_every_string(text: str) -> None:
    messages = [
        {"user": "U1", "ts": "1700000000.000100", "text": text, "thread_ts": ""},
        {"user": "U2", "ts": "1700000000.000200", "text": text,
         "thread_ts": "1700000000.000100"},
    ]
    original = messages_to_frame(messages, NAMES)
    back = read_csv(to_csv(original))
    assert list(back.columns) == COLUMNS
    assert back.to_dict("records") == original.to_dict("records")
    assert all(isinstance(v, str) for v in back.to_numpy().ravel())


def test_csv_round_trip_of_empty_cells_and_trailing_zero_ts() -> None:
    original = messages_to_frame([
        {"bot_id": "B1", "ts": "1700000000.000000", "text": ""},
        {"user": "U1", "ts": "1700000000.100000", "text": "x"},
    ], {})
    back = read_csv(to_csv(original))
    assert list(back["ts"]) == ["1700000000.000000", "1700000000.100000"]
    assert list(back["thread_ts"]) == ["", ""]
    assert list(back["subtype"]) == ["", ""]
    assert list(back["text"]) == ["", "x"]
    assert not back.isna().to_numpy().any()


def test_csv_header_and_extra_columns() -> None:
    original = frame(("1700000000.000100", "a"))
    original["extra"] = "e"
    data = to_csv(original)
    assert data.decode("utf-8").splitlines()[0] == ",".join([*COLUMNS, "extra"])
    back = read_csv(data)
    assert list(back["extra"]) == ["e"]


def test_read_csv_fills_missing_columns_with_empty_strings() -> None:
    back = read_csv(b"ts,text\n1700000000.000100,hi\n")
    assert set(COLUMNS) <= set(back.columns)
    assert back.iloc[0]["ts"] == "1700000000.000100"
    assert back.iloc[0]["subtype"] == ""


def test_empty_frame_round_trips() -> None:
    back = read_csv(to_csv(merge([])))
    assert list(back.columns) == COLUMNS
    assert back.empty


def test_backup_after_a_message_with_a_lone_cr_still_merges() -> None:
    stored = read_csv(to_csv(neutralise(frame(("1700000000.000100", "lone\rcarriage")))))
    merged = merge([stored, frame(("1700000000.000200", "next"))])
    assert list(merged["ts"]) == ["1700000000.000100", "1700000000.000200"]
