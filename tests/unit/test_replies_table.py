"""What the webhook answers responders (pure text)."""

from __future__ import annotations

from typing import Any

import pytest

from webhook import replies
from webhook.commands import SUBCOMMANDS
from webhook.replies import help_text, unknown_team


@pytest.mark.parametrize("problem", ["", "I don't know `deploy`."])
def test_help_lists_every_subcommand_one_per_line(problem: str) -> None:
    lines = help_text(problem).splitlines()
    for name, about in SUBCOMMANDS.items():
        mine = [line for line in lines if f"`/irbot {name}`" in line]
        assert len(mine) == 1, name
        assert about in mine[0]
    command_lines = [line for line in lines if "`/irbot " in line and line.startswith("•")]
    assert len(command_lines) == len(SUBCOMMANDS)
    if problem:
        assert lines[0] == problem
    else:
        assert problem not in lines


@pytest.mark.parametrize(
    ("team", "teams", "present", "absent"),
    [
        ("sre", ["db", "engineering"], ["`sre`", "`db`", "`engineering`", "/irbot page"], []),
        ("sre", [], ["`sre`", "PAGERDUTY_ROUTING_KEYS"], []),
        ("", ["db"], ["`db`"], ["No PagerDuty team called"]),
        ("x" * 100, ["db"], ["x" * 40], ["x" * 41]),
    ],
)
def test_unknown_team_lists_configured_teams(team: str, teams: list[str], present: list[str],
                                             absent: list[str]) -> None:
    text = unknown_team(team, teams)
    for part in present:
        assert part in text
    for part in absent:
        assert part not in text


@pytest.mark.parametrize(
    ("headers", "malformed"),
    [
        ({}, False),  # missing headers: Bolt answers 401 itself
        ({"x-slack-request-timestamp": "1531420618", "x-slack-signature": "v0=ab12"}, False),
        ({"x-slack-request-timestamp": "soon", "x-slack-signature": "v0=ab12"}, True),
        ({"x-slack-request-timestamp": "-5", "x-slack-signature": "v0=ab12"}, True),
        ({"x-slack-request-timestamp": "١٢٣", "x-slack-signature": "v0=ab12"}, True),
        ({"x-slack-request-timestamp": "1531420618", "x-slack-signature": "v0=é"}, True),
    ],
)
def test_malformed_signature_headers(headers: dict[str, str], malformed: bool) -> None:
    from webhook.guard import signature_headers_malformed

    assert signature_headers_malformed(headers) is malformed


@pytest.mark.parametrize(
    ("channel_name", "command", "closing", "expected"),
    [
        ("general", "backup", False, "not an open incident, so there is nothing to back up"),
        ("general", "status", False, "nothing to show"),
        ("incident_channel_sec-4", "backup", False, "This incident is closed"),
        ("renamed", "archive", True, "This incident is closed: its channel was archived"),
    ],
)
def test_closed_or_unknown(channel_name: str, command: str, closing: bool,
                           expected: str) -> None:
    from webhook.replies import closed_or_unknown

    assert expected in closed_or_unknown(channel_name, command, closing)


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (lambda: replies.prefect_down("backup", "ab12cd34"),
         "irbot could not start the backup right now (its workflow service did not answer). "
         "Nothing was changed; please try again in a minute. (error id ab12cd34)"),
        (lambda: replies.prefect_down("incident"),
         "irbot could not start the incident right now (its workflow service did not answer). "
         "Nothing was changed; please try again in a minute."),
        (lambda: replies.paging("db"), "Paging `db`…"),
        (lambda: replies.form_not_opened("expired_trigger_id"), "Could not open the incident "
         "form (`expired_trigger_id`). Please run `/irbot create` again."),
        (lambda: replies.creating(None), "Creating your incident (a new Jira case)… I'll tell "
         "you when its channel is ready."),
        (lambda: replies.creating("SEC-9"),
         "Creating your incident (SEC-9)… I'll tell you when its channel is ready."),
        (lambda: replies.BACKUP_REQUESTED,
         "Backup requested: I'll post in the channel when it is saved to Jira."),
        (lambda: replies.ALREADY_DECIDED,
         "This archive was already decided (or is over); your click changed nothing."),
    ],
)
def test_what_the_webhook_says(built: Any, expected: str) -> None:
    assert built() == expected


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (lambda: replies.CONTAIN_NOT_CONFIGURED,
         "Containment is not configured: irbot has no CrowdStrike Falcon API client "
         "(FALCON_CLIENT_ID and FALCON_CLIENT_SECRET). Whoever runs irbot can set them; "
         "nothing was looked up."),
        (lambda: replies.looking_up("web-01"), "Looking `web-01` up in CrowdStrike Falcon… "
         "I'll post what I find in this channel, with buttons to confirm."),
        (lambda: replies.not_allowed_to_confirm("UCMD", "containment"),
         "Only the incident commander (<@UCMD>) or people listed in IRBOT_CONTAIN_ALLOWED can "
         "confirm this containment, so your click changed nothing. Ask the commander to press "
         "it."),
        (lambda: replies.not_allowed_to_cancel("UCMD"),
         "Only whoever asked, the incident commander (<@UCMD>) or people listed in "
         "IRBOT_CONTAIN_ALLOWED can cancel this, so your click changed nothing."),
        (lambda: replies.host_already_decided("U1", "cancel"),
         "<@U1> already cancelled this; your click changed nothing."),
        (lambda: replies.host_already_decided("U1", "confirm"),
         "<@U1> already confirmed this; your click changed nothing."),
    ],
)
def test_what_the_webhook_says_about_containment(built: Any, expected: str) -> None:
    assert built() == expected
