"""The record of every request the sandbox answered, for assertions."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.requests import Request

# Header values that must never be kept: the record is printed in test failures and logs.
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


@dataclass(frozen=True)
class RecordedRequest:
    service: str  # "slack" | "jira" | "pagerduty"
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


def record_of(request: Request, service: str, name: str, params: Any, status: int, *,
              query: dict[str, str] | None = None, auth_present: bool = False,
              auth_valid: bool = False) -> RecordedRequest:
    """The record of one answered request (credentials never kept)."""
    return RecordedRequest(
        service=service, name=name, http_method=request.method, path=request.url.path,
        query=dict(request.query_params) if query is None else query, params=params,
        headers=safe_headers(request.headers), auth_present=auth_present,
        auth_valid=auth_valid, status=status, at=time.time())
