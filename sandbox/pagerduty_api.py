"""PagerDuty Events API v2: POST /pagerduty/v2/enqueue."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.recording import record_of
from sandbox.state import SandboxState
from sandbox.web import fault_response, json_response, read_json

MOUNT = "/pagerduty"
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
ROUTING_KEY_LENGTH = 32
DEDUP_KEY_MAX = 255
SUMMARY_MAX = 1024


def validate(event: Any) -> list[str]:
    """Every reason the event is invalid (empty when PagerDuty would accept it)."""
    if not isinstance(event, dict):
        return ["Event must be a JSON object."]
    problems: list[str] = []
    routing_key = event.get("routing_key")
    if not isinstance(routing_key, str) or not routing_key:
        problems.append("'routing_key' is missing or blank")
    elif len(routing_key) != ROUTING_KEY_LENGTH:
        problems.append(f"'routing_key' must be {ROUTING_KEY_LENGTH} characters")
    action = event.get("event_action")
    if action not in ACTIONS:
        problems.append(f"'event_action' must be one of {', '.join(ACTIONS)}")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or
                                  len(dedup_key) > DEDUP_KEY_MAX):
        problems.append(f"'dedup_key' must be a string of at most {DEDUP_KEY_MAX} characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        problems.append(f"'dedup_key' is required for event_action {action}")
    if action == "trigger":
        problems.extend(_payload_problems(event.get("payload")))
    return problems


def _payload_problems(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object"]
    problems = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary:
        problems.append("'payload.summary' is missing or blank")
    elif len(summary) > SUMMARY_MAX:
        problems.append(f"'payload.summary' must be at most {SUMMARY_MAX} characters")
    source = payload.get("source")
    if not isinstance(source, str) or not source:
        problems.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        problems.append(f"'payload.severity' must be one of {', '.join(SEVERITIES)}")
    return problems


def pagerduty_routes(state: SandboxState) -> list[Route]:
    async def enqueue(request: Request) -> Response:
        body, parse_error = await read_json(request)
        name = f"{request.method} {request.url.path[len(MOUNT):]}"
        with state.lock:
            fault = state.faults.take("pagerduty", name)
            if fault is not None:
                response = fault_response(fault)
            else:
                problems = [parse_error] if parse_error else validate(body)
                if problems:
                    response = json_response({"status": "invalid event",
                                              "message": "Event object is invalid",
                                              "errors": problems}, 400)
                else:
                    # Triggers without a key get one, as PagerDuty does.
                    event = {**body, "dedup_key": body.get("dedup_key") or uuid.uuid4().hex}
                    state.pagerduty_events.append(event)
                    response = json_response({"status": "success",
                                              "message": "Event processed",
                                              "dedup_key": event["dedup_key"]}, 202)
        state.record(record_of(request, "pagerduty", name, body, response.status_code))
        return response

    return [Route(MOUNT + "/v2/enqueue", enqueue, methods=["POST"])]
