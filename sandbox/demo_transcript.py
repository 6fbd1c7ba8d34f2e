"""The demo's transcript scenes: what people do besides posting, and what reached Jira."""

from __future__ import annotations

from typing import Any, Protocol

from sandbox.local import Sandbox

SCREENSHOT = b"\x89PNG\r\n\x1a\n" + bytes(2048)  # a small stand-in for a real screenshot
SECRET_TEXT = "oops, pasted the service key: AKIAIOSFODNN7EXAMPLE"


class Narrator(Protocol):
    def step(self, actor: str, text: str) -> None: ...
    def detail(self, label: str, text: object = "") -> None: ...


def enrich(sb: Sandbox, channel: str, people: dict[str, str], first: str) -> dict[str, str]:
    """A file, a pasted secret, a flagged and a pinned message (ts → what it is)."""
    a, b = people["alice"], people["bob"]
    shot, _ = sb.post_file(channel, b, "vpn-error.png", SCREENSHOT, "image/png",
                           text="screenshot of the VPN error page")
    secret = sb.post_message(channel, a, SECRET_TEXT)
    sb.add_reaction(channel, first, b, "pushpin")  # the timeline emoji
    sb.add_reaction(channel, first, a, "eyes")
    sb.pin_message(channel, shot)
    return {shot: "a screenshot (file, pinned)", secret: "a pasted AWS key"}


def change_after_backup(sb: Sandbox, channel: str, edit_ts: str, delete_ts: str,
                        tl: Narrator) -> None:
    sb.edit_message(channel, edit_ts, "Logs pulled: 3,412 failures, 12 successes (all "
                                      "contractors) :fire:")
    sb.delete_message(channel, delete_ts)
    tl.step("chat", "bob edits his \"Logs pulled\" message; alice deletes her \"+1\"")


def show(rows: list[dict[str, str]], issue: dict[str, Any], tl: Narrator) -> None:
    """One line per kind of thing the transcript now holds beyond plain messages."""
    def first(test: Any) -> dict[str, str] | None:
        return next((r for r in rows if test(r)), None)

    found = {
        "thread reply": first(lambda r: r["thread_ts"] and r["thread_ts"] != r["ts"]),
        "edited": first(lambda r: r["text_first_stored"]),
        "deleted": first(lambda r: r["deleted_at"]),
        "file": first(lambda r: r["files"]),
        "flagged": first(lambda r: r["flagged"]),
        "masked secret": first(lambda r: "[redacted:" in r["text"]),
    }
    for label, row in found.items():
        if row is None:
            tl.detail(label, "MISSING from the transcript")
            continue
        text = " ".join(row["text"].split())[:70]
        extra = {"thread reply": f"thread_ts {row['thread_ts']}",
                 "edited": f"first stored: \"{row['text_first_stored'][:40]}\", edited_at "
                           f"{row['edited_at']}",
                 "deleted": row["deleted_at"], "file": row["files"].rsplit(": ", 1)[-1],
                 "flagged": f"flagged {row['flagged']}, reactions {row['reactions']}",
                 "masked secret": leak_check(issue)}[label]
        tl.detail(label, f"{row['user_name']}: {text}\n{extra}")
    files = [a["filename"] for a in issue["attachments"] if not a["filename"].endswith(".csv")]
    tl.detail("jira files", ", ".join(files) or "none")


def leak_check(issue: dict[str, Any]) -> str:
    """Look for the pasted key everywhere on the case: it must be nowhere."""
    key = SECRET_TEXT.rsplit(" ", 1)[-1]
    places = [*issue["comments"], *(a["filename"] for a in issue["attachments"])]
    places += [a["content"].decode("utf-8", "replace") for a in issue["attachments"]]
    leaks = sum(key in p for p in places)
    return ("checked: the key itself is in no file, file name or comment on the case"
            if not leaks else f"LEAKED: the key is in {leaks} places on the case")


def final_comments(issue: dict[str, Any], tl: Narrator) -> None:
    for comment in issue["comments"]:
        if comment.startswith(("irbot final backup:", "Timeline")):
            tl.detail("jira comment", comment)
