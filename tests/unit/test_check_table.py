"""`irbot check`'s pure parts: lines, scopes, routing keys, the summary, and the manifests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tasks.slack_scopes import APP_TOKEN_SCOPE, BOT_SCOPES, scopes_header
from webhook.check.model import Check, Status, not_checked, summary
from webhook.check.pagerduty import routing_key
from webhook.check.slack import scope_check

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ["slack-app-manifest.yaml", "slack-app-manifest.socket.yaml"]


@pytest.mark.parametrize(("check", "line"), [
    (Check("Jira project", Status.OK, "SEC exists", "unused"), "✓ Jira project: SEC exists"),
    (Check("Jira project", Status.FAILED, "NOPE does not exist", "set JIRA_PROJECT"),
     "✗ Jira project: NOPE does not exist → set JIRA_PROJECT"),
    (Check("Slack app token", Status.MISSING, "not set", ""), "✗ Slack app token: not set"),
    (not_checked("Jira permissions", "no project"),
     "✗ Jira permissions: not checked (no project) → fix the line above first"),
])
def test_line(check: Check, line: str) -> None:
    assert check.line() == line


@pytest.mark.parametrize(("status", "hard"), [
    (Status.OK, False), (Status.MISSING, True), (Status.REFUSED, True), (Status.FAILED, False),
    (Status.UNREACHABLE, False), (Status.NOT_CHECKED, False),
])
def test_only_missing_or_refused_stop_serve(status: Status, hard: bool) -> None:
    assert Check("x", status, "y").hard is hard


@pytest.mark.parametrize(("header", "passed", "named"), [
    (",".join(BOT_SCOPES), True, ""),
    (",".join((*BOT_SCOPES, "files:read")), True, ""),  # more than needed does no harm
    (" , ".join(BOT_SCOPES), True, ""),
    (",".join(s for s in BOT_SCOPES if s != "chat:write.public"), False, "chat:write.public"),
    ("", False, "commands"),
    (None, False, "did not report"),
])
def test_scopes_against_the_manifest(header: str | None, passed: bool, named: str) -> None:
    check = scope_check("Slack scopes", header)
    assert check.passed is passed
    assert named in check.detail
    if named == "chat:write.public":
        assert "chat:write," not in check.detail  # chat:write is granted: not named


@pytest.mark.parametrize(("key", "passed", "why"), [
    ("a" * 32, True, "well-formed"),
    ("0123456789abcdef0123456789ABCDEF", True, "well-formed"),
    ("a" * 31, False, "31 characters"),
    ("a" * 33, False, "33 characters"),
    ("a" * 31 + "-", False, "letters and digits"),
    ("é" * 32, False, "letters and digits"),
])
def test_routing_key_shape_and_never_the_key(key: str, passed: bool, why: str) -> None:
    check = routing_key("database", key)
    assert check.passed is passed
    assert why in check.detail and "database" in check.name
    assert key not in check.line()


def test_summary_counts_failures_apart_from_what_could_not_be_checked() -> None:
    good, bad = Check("a", Status.OK, ""), Check("b", Status.REFUSED, "")
    assert summary([good, good]) == "All 2 checks passed."
    assert summary([good, bad, not_checked("c", "b")]).startswith(
        "1 of 3 checks failed and 1 could not be checked")


def test_scopes_header_parses_slacks_format() -> None:
    assert scopes_header("chat:write, commands,,") == {"chat:write", "commands"}
    assert scopes_header(None) == set()


@pytest.mark.parametrize("manifest", MANIFESTS)
def test_manifests_declare_exactly_the_scopes_irbot_checks(manifest: str) -> None:
    data = yaml.safe_load((ROOT / manifest).read_text())
    assert sorted(data["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)


def test_socket_manifest_has_no_request_urls_and_enables_socket_mode() -> None:
    http = yaml.safe_load((ROOT / MANIFESTS[0]).read_text())
    socket = yaml.safe_load((ROOT / MANIFESTS[1]).read_text())
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "://" not in (ROOT / MANIFESTS[1]).read_text().split("features:", 1)[1]
    assert [c["command"] for c in socket["features"]["slash_commands"]] == \
        [c["command"] for c in http["features"]["slash_commands"]]
    assert socket["settings"]["interactivity"]["is_enabled"] is True
    assert APP_TOKEN_SCOPE == "connections:write"


def test_the_sandbox_reports_the_manifests_scopes() -> None:
    """The emulated Slack reads the manifest (it imports nothing of irbot): the same scopes."""
    from sandbox import manifest

    assert manifest.manifest_bot_scopes() == BOT_SCOPES
    assert manifest.APP_TOKEN_SCOPE == APP_TOKEN_SCOPE
