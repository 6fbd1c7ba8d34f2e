"""Containment (pure): hostnames, button values, who may confirm, Falcon's answers mapped."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tasks import falcon
from tasks.errors import FalconError, HostLookupFailed
from tasks.retry import is_transient, retry_after_seconds
from webhook.commands import Command, parse_command
from webhook.containment import Card, may_confirm, read_card

RUN = "6f1c2a4e-0b7d-4c39-9d2e-51a8e3f0c7b4"  # fixed: xdist workers must collect the same ids
DEVICE = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("contain web-01", Command("contain", ["web-01"])),
        ("CONTAIN WEB-01", Command("contain", ["WEB-01"])),
        ("lift host_1.corp.example.com", Command("lift", ["host_1.corp.example.com"])),
        # With escaping on, Slack sends a typed domain name as a link.
        ("contain <http://web-01.example.com|web-01.example.com>",
         Command("contain", ["web-01.example.com"])),
        ("contain <http://web-01.example.com>", Command("contain", ["web-01.example.com"])),
        ("  lift   db-7  ", Command("lift", ["db-7"])),
    ],
)
def test_host_commands(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("contain", "Name one host: `/irbot contain <hostname>`"),
        ("lift a b", "Name one host: `/irbot lift <hostname>`"),
        ("contain x'or'hostname:'*'", "is not a hostname"),  # never reaches the FQL filter
        ('contain "web"', "is not a hostname"),
        ("contain -web", "is not a hostname"),
        ("contain <#C123|general>", "is not a hostname"),
        ("contain " + "a" * 254, "is not a hostname"),
    ],
)
def test_host_commands_refuse(text: str, said: str) -> None:
    cmd = parse_command(text)
    assert cmd.args == [] and said in cmd.problem


def _value(**changes: Any) -> str:
    return json.dumps({"a": "contain", "d": DEVICE, "h": "web-01", "r": "U1", "run": RUN,
                       **changes})


@pytest.mark.parametrize(
    ("value", "card"),
    [
        (_value(), Card("contain", DEVICE, "web-01", "U1", RUN)),
        (_value(a="lift", r=""), Card("lift", DEVICE, "web-01", "", RUN)),
        (_value(r="not an id"), Card("contain", DEVICE, "web-01", "", RUN)),
        (_value(a="hide_host"), None),
        (_value(d="../x"), None),
        (_value(d=""), None),
        (_value(h="x'y"), None),
        (_value(run="nope"), None),
        ("not json", None),
        ("[1]", None),
        (None, None),
    ],
)
def test_read_card(value: Any, card: Card | None) -> None:
    assert read_card(value) == card


@pytest.mark.parametrize(
    ("user", "allowed", "groups", "ok"),
    [
        ("UCMD", [], {}, True),  # the commander
        ("UBOB", [], {}, False),
        ("UBOB", ["UBOB"], {}, True),  # listed by id
        ("UBOB", ["UALICE", "S1"], {"S1": ["UCAROL"]}, False),
        ("UBOB", ["S1"], {"S1": ["UBOB"]}, True),  # a member of a listed group
        ("UBOB", ["S2"], {"S1": ["UBOB"]}, False),  # a member of a group not listed
        ("UBOB", ["S1"], {}, False),  # a group Slack would not list
    ],
)
def test_who_may_confirm(user: str, allowed: list[str], groups: dict[str, list[str]],
                         ok: bool) -> None:
    assert may_confirm(user, "UCMD", allowed, groups) is ok


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"X-RateLimit-RetryAfter": str(int(NOW) + 7)}, 7.0),  # Falcon's: a Unix time
        ({"x-ratelimit-retryafter": str(int(NOW) - 5)}, 0.0),  # already past
        ({"X-RateLimit-RetryAfter": "3"}, 3.0),  # plain seconds
        ({"X-RateLimit-RetryAfter": "soon"}, 0.0),
        ({}, 0.0),
        (None, 0.0),
    ],
)
def test_retry_after(headers: Any, seconds: float) -> None:
    assert falcon.retry_after(headers, now=NOW) == seconds


@pytest.mark.parametrize(
    ("status", "body", "transient", "said"),
    [
        (401, {}, False, "Falcon refused irbot's API client (HTTP 401)"),
        (403, {}, False, "lacks the Hosts scope"),
        (429, {}, True, "rate-limiting irbot (HTTP 429) and still was after 4 attempts"),
        (500, {}, True, "not answering (HTTP 500) after 4 attempts"),
        (503, {}, True, "not answering (HTTP 503)"),
        (0, {}, True, "not answering (no answer)"),
        (400, {"errors": [{"code": 400, "message": "bad filter"}]}, False,
         "Falcon rejected the request (HTTP 400: bad filter)."),
        (404, {"errors": []}, False, "(HTTP 404: no detail)"),
    ],
)
def test_falcon_errors(status: int, body: dict[str, Any], transient: bool, said: str) -> None:
    headers = {"X-RateLimit-RetryAfter": str(int(time.time()) + 30)}
    error = falcon.falcon_error(status, headers, body, attempts=4)
    assert said in error.user_message
    assert error.transient is transient and is_transient(error) is transient
    assert error.status == status
    assert retry_after_seconds(error) == (pytest.approx(30, abs=2) if status == 429 else 0)


def test_a_long_rate_limit_is_not_waited_out_in_a_task() -> None:
    assert retry_after_seconds(FalconError("x", 429, True, retry_after=3600)) == 60


def test_answers_that_are_fine_pass_through() -> None:
    for status in (200, 201, 202):
        assert falcon.checked({"status_code": status, "headers": {},
                               "body": {"resources": ["a"]}}) == {"resources": ["a"]}


@pytest.mark.parametrize(
    ("ids", "said"),
    [
        ([], "CrowdStrike Falcon has no host named `web-01`"),
        (["a" * 32, "b" * 32], "has 2 hosts named `web-01` (`aaaa"),
    ],
)
def test_none_or_several_hosts(ids: list[str], said: str) -> None:
    with pytest.raises(HostLookupFailed) as refused:
        falcon.pick_one("web-01", ids)
    assert said in refused.value.user_message


def test_one_host() -> None:
    assert falcon.pick_one("web-01", [DEVICE]) == DEVICE
