"""Issue 12's command text: people as Slack escapes them, severities, free text (pure)."""

from __future__ import annotations

import pytest

from tasks.severity import parse_severity
from webhook.commands import (
    ROLE_COMMANDS,
    SUBCOMMANDS,
    USAGE,
    Command,
    PersonProblem,
    parse_command,
    parse_person,
)
from webhook.free_text import plain_text, responder_text

ME = "UME"


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("commander", Command("commander", [])),
        ("commander <@U123|alice>", Command("commander", ["<@U123|alice>"])),
        ("Commander   <@U123>  ", Command("commander", ["<@U123>"])),
        ("severity sev1", Command("severity", ["sev1"])),
        ("SEVERITY SEV-2", Command("severity", ["SEV-2"])),
        ("update", Command("update", [])),
        ("update  db is back,  watching   it ", Command("update", ["db is back,  watching   it"])),
        ('update "quoted" <http://x|x>', Command("update", ['"quoted" <http://x|x>'])),
        ("handover", Command("handover", [])),
    ],
)
def test_role_commands_parse(text: str, command: Command) -> None:
    assert parse_command(text) == command


def test_role_commands_are_listed_with_their_arguments() -> None:
    assert set(ROLE_COMMANDS) <= set(SUBCOMMANDS)
    assert USAGE["commander"] == "[@person]" and USAGE["update"] == "[text]"
    assert "SEV-1" in USAGE["severity"] and "handover" not in USAGE


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", ME),
        ("   ", ME),
        ("<@U123|alice>", "U123"),
        ("<@U123>", "U123"),
        ("<@W0AB9|bob.smith>", "W0AB9"),
        ("  <@U123|alice>  ", "U123"),
        ("@alice", PersonProblem.BARE_NAME),
        ("@Alice Liddell", PersonProblem.BARE_NAME),
        ("alice", PersonProblem.NOT_A_PERSON),
        ("<#C1|ops>", PersonProblem.NOT_A_PERSON),
        ("<@u123>", PersonProblem.NOT_A_PERSON),  # Slack ids are uppercase
        ("<@U1|a> <@U2|b>", PersonProblem.MORE_THAN_ONE),
        ("<@U1|a> and bob", PersonProblem.MORE_THAN_ONE),
    ],
)
def test_parse_person(text: str, named: str | PersonProblem) -> None:
    assert parse_person(text, ME) == named


@pytest.mark.parametrize(
    ("word", "level"),
    [
        ("SEV-1", "SEV-1"), ("sev-2", "SEV-2"), ("sev3", "SEV-3"), ("Sev_4", "SEV-4"),
        (" SEV-1 ", "SEV-1"), ("SEV-5", None), ("SEV-0", None), ("1", None), ("high", None),
        ("", None), ("SEV-12", None), ("sev--1", None),
    ],
)
def test_parse_severity(word: str, level: str | None) -> None:
    assert parse_severity(word) == level


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        ("db down", "db down"),
        ("see <https://status.example.com|status page>", "see status page "
         "(https://status.example.com)"),
        ("<https://x.example.com/a?b=1&amp;c=2>", "https://x.example.com/a?b=1&c=2"),
        ("<https://x.example.com|https://x.example.com>", "https://x.example.com"),
        ("mail <mailto:soc@example.com|soc@example.com>", "mail soc@example.com"),
        ("in <#C0123|ops-war-room>", "in #ops-war-room"),
        ("in <#C0123>", "in #C0123"),
        ("ask <@U1|alice>", "ask @alice"),
        ("ask <@U1>", "ask @U1"),
        ("<!here> <!channel>", "@here @channel"),
        ("<!subteam^S1|@secops> please", "@secops please"),
        ("since <!date^1700000000^{date}|Nov 14>", "since Nov 14"),
        ("a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"),
        ("&amp;lt; stays literal", "&lt; stays literal"),
    ],
)
def test_plain_text(escaped: str, plain: str) -> None:
    assert plain_text(escaped) == plain


GITHUB = "ghp_" + "A1b2" * 9


@pytest.mark.parametrize(
    ("text", "mask", "escaped", "present", "absent"),
    [
        (f"rotated <{'https://x.example.com'}|key> {GITHUB}", True, True,
         ["key (https://x.example.com)", "[redacted: GitHub Token]"], [GITHUB]),
        ("password=Hunter2Hunter2 leaked", True, True, ["[redacted: "], ["Hunter2Hunter2"]),
        (f"{GITHUB} &lt;x&gt;", False, True, [GITHUB, "<x>"], ["redacted"]),
        # Form text arrives as typed: no unescaping, masking still.
        (f"a &lt; b {GITHUB}", True, False, ["a &lt; b", "[redacted: "], [GITHUB]),
    ],
)
def test_responder_text(text: str, mask: bool, escaped: bool, present: list[str],
                        absent: list[str]) -> None:
    out = responder_text(text, mask, escaped)
    for part in present:
        assert part in out
    for part in absent:
        assert part not in out


@pytest.mark.parametrize("manifest", ["slack-app-manifest.yaml", "slack-app-manifest.socket.yaml"])
def test_the_command_is_escaped_so_people_arrive_as_ids(manifest: str) -> None:
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[2] / manifest
    [command] = yaml.safe_load(path.read_text())["features"]["slash_commands"]
    assert command["should_escape"] is True
    for name in ROLE_COMMANDS:
        assert name in command["usage_hint"]
