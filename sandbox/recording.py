"""The record of every request the sandbox answered, for assertions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# Header values that must never be kept: the record is printed in test failures and logs.
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


@dataclass(frozen=True)
class RecordedRequest:
    service: str  # "slack" | "jira" | "pagerduty" | "control"
    name: str  # Slack method, or "METHOD /path" relative to the service's mount
    http_method: str
    path: str  # full request path
    query: dict[str, str]
    params: Any  # Slack: merged query+form+json; others: parsed JSON body (or None)
    headers: dict[str, str]  # lower-cased names, secrets removed
    auth_present: bool
    auth_valid: bool
    status: int
    at: float = field(default=0.0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordedRequest:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased header names without credential values."""
    return {k.lower(): v for k, v in headers.items() if k.lower() not in _SECRET_HEADERS}
