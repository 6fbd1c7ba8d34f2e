"""Small HTTP helpers shared by the emulated services."""

from __future__ import annotations

import json
import time
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from sandbox.faults import Fault


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def fault_response(fault: Fault) -> Response:
    """What an overloaded or failing vendor answers, per service."""
    if fault.service == "falcon":
        return falcon_fault_response(fault)
    headers: dict[str, str] = {}
    if fault.status == 429:
        # A 429 without Retry-After would make clients guess; vendors always send it.
        headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
    elif fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if fault.body is not None:
        return json_response(fault.body, fault.status, headers)
    if fault.status >= 500:
        return PlainTextResponse(_reason(fault.status), fault.status, headers)
    if fault.service == "slack":
        error = "ratelimited" if fault.status == 429 else "fatal_error"
        return json_response({"ok": False, "error": error}, fault.status, headers)
    if fault.service == "jira":
        return json_response({"errorMessages": [_reason(fault.status)], "errors": {}},
                             fault.status, headers)
    message = _reason(fault.status)
    if fault.status == 429:
        return json_response({"status": "throttle event", "message": message, "errors": []},
                             fault.status, headers)
    return json_response({"status": "invalid event", "message": message, "errors": [message]},
                         fault.status, headers)


def falcon_error(status: int, message: str | None = None,
                 headers: dict[str, str] | None = None) -> Response:
    """Falcon's error shape: a list of {code, message} and no resources."""
    return json_response({"meta": {}, "errors": [{"code": status,
                                                  "message": message or _reason(status)}],
                          "resources": []}, status, headers)


def falcon_fault_response(fault: Fault) -> Response:
    """Falcon's 429 says when to come back as a Unix time in X-RateLimit-RetryAfter."""
    headers: dict[str, str] = {}
    if fault.status == 429:
        wait = fault.retry_after if fault.retry_after is not None else 1
        headers = {"X-RateLimit-RetryAfter": str(int(time.time()) + wait),
                   "X-RateLimit-Limit": "6000", "X-RateLimit-Remaining": "0"}
    if fault.body is not None:
        return json_response(fault.body, fault.status, headers)
    return falcon_error(fault.status, headers=headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


async def read_json(request: Request) -> tuple[Any, str | None]:
    """(parsed JSON body or None, error message if the body is not JSON)."""
    raw = await request.body()
    if not raw.strip():
        return None, None
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"body is not valid JSON: {exc}"
