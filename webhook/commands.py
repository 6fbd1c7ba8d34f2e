"""`/irbot` command text → a command and its arguments (pure)."""

from __future__ import annotations

import enum
import re
import shlex
from dataclasses import dataclass, field

SUBCOMMANDS = {
    "create": "open a new incident: its Jira case, channel and people (opens a form)",
    "backup": "save this incident channel's new messages to the Jira case as CSV",
    "page": "page an on-call team through PagerDuty",
    "status": "show this incident's case, severity, last backup and pending archive",
    "archive": "archive this incident channel after a final backup (can be cancelled)",
    "commander": "name the incident commander (you, when nobody is named)",
    "severity": "change this incident's severity",
    "update": "post a status update here, in the executive channel and on Jira (no text: a form)",
    "handover": "hand the incident over to the next commander (opens a form)",
    "contain": "network-contain a host in CrowdStrike Falcon (the commander confirms)",
    "lift": "lift a host's network containment in CrowdStrike Falcon (the commander confirms)",
    "help": "list these commands",
}


# The arguments of subcommands that take some.
USAGE = {"page": "<team> [message]", "commander": "[@person]", "severity": "<SEV-1..SEV-4>",
         "update": "[text]", "contain": "<hostname>", "lift": "<hostname>"}
# Subcommands that run the incident: only inside an incident channel.
ROLE_COMMANDS = ("commander", "severity", "update", "handover")
# With should_escape, a person picked from Slack's list arrives as <@U123|alice> (or <@U123>).
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# Far above any real command, and low enough that splitting it stays cheap: shlex takes ~75 ms
# for 40,000 characters and seconds for 400,000, while Slack waits 3 s for the answer.
MAX_TEXT_CHARS = 4000


HOST_COMMANDS = ("contain", "lift")
# What Falcon calls a hostname (letters, digits, dot, dash, underscore): nothing else may reach
# the FQL filter `hostname:'NAME'`, where a quote would change the query.
_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")
# With escaping on, Slack turns a typed `web-01.example.com` into a link: <http://x|x> or <http://x>.
_SLACK_LINK = re.compile(r"<https?://([^|>]*)(?:\|([^>]*))?>")


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
    if name in ("update", "commander"):
        return Command(name, [rest] if rest else [])  # the text as typed, spaces and all
    if name in HOST_COMMANDS:
        return _host_command(name, rest)
    if name != "page":
        return Command(name, rest.split())
    try:
        words = shlex.split(rest)
    except ValueError:
        words = rest.split()  # an unbalanced quote still deserves a page
    if not words or not words[0].strip():
        return Command("page", problem="Name the team to page: `/irbot page <team> [message]`.")
    return Command("page", [words[0].lower(), " ".join(words[1:])])


class PersonProblem(enum.Enum):
    """Why the words after `/irbot commander` name nobody irbot can use."""

    BARE_NAME = "bare_name"  # `@alice` typed without picking her from Slack's list
    NOT_A_PERSON = "not_a_person"
    MORE_THAN_ONE = "more_than_one"


def parse_person(text: str, me: str) -> str | PersonProblem:
    """The Slack user id named (as Slack escapes it), or `me` when nobody is named."""
    text = text.strip()
    if not text:
        return me
    match = _MENTION.fullmatch(text)
    if match:
        return match.group(1)
    if len(_MENTION.findall(text)) > 1 or (len(text.split()) > 1 and "<@" in text):
        return PersonProblem.MORE_THAN_ONE
    return PersonProblem.BARE_NAME if text.startswith("@") else PersonProblem.NOT_A_PERSON
def hostname_ok(host: str) -> bool:
    return _HOSTNAME.fullmatch(host) is not None


def _host_command(name: str, rest: str) -> Command:
    """`contain <hostname>` / `lift <hostname>`: one hostname, exactly."""
    words = rest.split()
    usage = f"`/irbot {name} <hostname>`"
    if len(words) != 1:
        return Command(name, problem=f"Name one host: {usage}, e.g. `/irbot {name} web-01`.")
    link = _SLACK_LINK.fullmatch(words[0])
    host = (link.group(2) or link.group(1)) if link else words[0]
    host = host.rstrip("/")
    if not hostname_ok(host):
        return Command(name, problem=f"`{words[0][:60]}` is not a hostname (letters, digits, "
                       f"`.`, `-` and `_` only): {usage}.")
    return Command(name, [host])
