"""Injected failures: the next N matching requests get a chosen HTTP status."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Service = Literal["slack", "jira", "pagerduty", "falcon"]
SERVICES: tuple[Service, ...] = ("slack", "jira", "pagerduty", "falcon")


def target_matches(target: str, service: str, name: str) -> bool:
    """Whether a request of `service` named `name` is what `target` names: "*", a Slack method,
    or "METHOD path-regex" (method may be "*") for Jira, PagerDuty and Falcon."""
    if target == "*":
        return True
    if service == "slack":
        return name == target
    want_method, _, pattern = target.partition(" ")
    method, _, path = name.partition(" ")
    if want_method != "*" and want_method.upper() != method.upper():
        return False
    return re.search(pattern or ".*", path) is not None


def check_target(service: str, target: str) -> None:
    """Refuse a target that could never match, at injection time rather than on a request."""
    if service != "slack" and target != "*":
        method, _, pattern = target.partition(" ")
        if not method or not pattern:
            raise ValueError('target must be "*" or "METHOD path-regex"')
        try:
            re.compile(pattern)
        except re.error as exc:  # a ValueError: refused at injection
            raise ValueError(f"bad path regex {pattern!r}: {exc}") from exc


@dataclass
class Fault:
    service: Service
    target: str
    status: int
    remaining: int
    retry_after: int | None = None
    body: dict[str, Any] | None = None

    def matches(self, service: str, name: str) -> bool:
        """`name` is a Slack method, or "METHOD /path" for Jira and PagerDuty."""
        return (service == self.service and self.remaining > 0
                and target_matches(self.target, service, name))

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "target": self.target,
            "status": self.status,
            "remaining": self.remaining,
            "retry_after": self.retry_after,
            "body": self.body,
        }


class FaultBook:
    """Pending faults, consumed first-injected first. Callers hold the sandbox lock."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.service not in SERVICES:
            raise ValueError(f"unknown service {fault.service!r}; expected one of {SERVICES}")
        if fault.remaining < 1:
            raise ValueError("times must be at least 1")
        if not 100 <= fault.status <= 599:
            raise ValueError(f"not an HTTP status: {fault.status}")
        check_target(fault.service, fault.target)
        self._faults.append(fault)

    def take(self, service: str, name: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(service, name):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self._faults.clear()

    def pending(self) -> list[Fault]:
        return list(self._faults)
