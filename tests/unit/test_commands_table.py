"""`/irbot` text → Command (pure table tests)."""

from __future__ import annotations

import pytest

from webhook.commands import SUBCOMMANDS, USAGE, Command, parse_command


@pytest.mark.parametrize("text", ["", " ", "   \t  ", "\n", None])
def test_empty_text_means_help(text: str | None) -> None:
    assert parse_command(text) == Command("help")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("create", "create", []),
        ("backup", "backup", []),
        ("archive", "archive", []),
        ("status", "status", []),
        ("help", "help", []),
        ("CREATE", "create", []),
        ("Backup", "backup", []),
        ("aRcHiVe", "archive", []),
        ("HELP", "help", []),
        ("   backup   ", "backup", []),
        ("backup   now  please", "backup", ["now", "please"]),
        ("page engineering", "page", ["engineering", ""]),
        ("PAGE Engineering", "page", ["engineering", ""]),
        ('page Engineering "db down now"', "page", ["engineering", "db down now"]),
        ("page engineering db down now", "page", ["engineering", "db down now"]),
        ("  page    engineering     db   down  ", "page", ["engineering", "db down"]),
        ("page 'Data Platform' help", "page", ["data platform", "help"]),
    ],
)
def test_subcommands(text: str, name: str, args: list[str]) -> None:
    assert parse_command(text) == Command(name, args)


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_parses_without_problem(name: str) -> None:
    cmd = parse_command(name + " x" if name in USAGE else name)
    assert (cmd.name, cmd.problem) == (name, "")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("deploy", "deploy"),
        ("Deploy now", "Deploy"),
        ("creat", "creat"),
        ("pages eng", "pages"),
        ("x" * 100, "x" * 40),
    ],
)
def test_unknown_subcommand_is_help_with_problem(text: str, shown: str) -> None:
    cmd = parse_command(text)
    assert cmd.name == "help"
    assert cmd.args == []
    assert f"`{shown}`" in cmd.problem
    assert "x" * 41 not in cmd.problem  # echoed text is bounded


@pytest.mark.parametrize(
    "text",
    [
        "page",
        "page   ",
        "PAGE",
        "page\t",
        'page ""',
        "page '' db down",
    ],
)
def test_page_without_team_is_a_problem(text: str) -> None:
    cmd = parse_command(text)
    assert cmd.name == "page"
    assert cmd.args == []
    assert "team" in cmd.problem


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ('page eng "db down', ["eng", '"db down']),
        ("page eng it's down", ["eng", "it's down"]),
        ('page "eng', ['"eng', ""]),
    ],
)
def test_unbalanced_quote_still_pages(text: str, args: list[str]) -> None:
    cmd = parse_command(text)
    assert (cmd.name, cmd.args, cmd.problem) == ("page", args, "")
