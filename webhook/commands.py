"""`/irbot` command text → a command and its arguments (pure)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

SUBCOMMANDS = {
    "create": "open a new incident: its Jira case, channel and people (opens a form)",
    "backup": "save this incident channel's new messages to the Jira case as CSV",
    "page": "page an on-call team through PagerDuty",
    "status": "show this incident's case, severity, last backup and pending archive",
    "archive": "archive this incident channel after a final backup (can be cancelled)",
    "help": "list these commands",
}


USAGE = {"page": "<team> [message]"}  # the arguments of subcommands that take some
# Far above any real command, and low enough that splitting it stays cheap: shlex takes ~75 ms
# for 40,000 characters and seconds for 400,000, while Slack waits 3 s for the answer.
MAX_TEXT_CHARS = 4000


@dataclass(frozen=True)
class Command:
    """A parsed `/irbot` invocation."""

    name: str
    args: list[str] = field(default_factory=list)
    problem: str = ""  # why the text could not be understood; "" when fine


def parse_command(text: str) -> Command:
    """Split `/irbot` text; unknown or empty means help (with the reason when unknown)."""
    stripped = (text or "").strip()
    if not stripped:
        return Command("help")
    if len(stripped) > MAX_TEXT_CHARS:
        return Command("help", problem=f"That is too long for irbot ({len(stripped):,} "
                       f"characters; at most {MAX_TEXT_CHARS:,}).")
    head, *tail = stripped.split(maxsplit=1)
    rest = tail[0] if tail else ""
    name = head.lower()
    if name not in SUBCOMMANDS:
        return Command("help", problem=f"I don't know `{head[:40]}`.")
    if name != "page":
        return Command(name, rest.split())
    try:
        words = shlex.split(rest)
    except ValueError:
        words = rest.split()  # an unbalanced quote still deserves a page
    if not words or not words[0].strip():
        return Command("page", problem="Name the team to page: `/irbot page <team> [message]`.")
    return Command("page", [words[0].lower(), " ".join(words[1:])])
