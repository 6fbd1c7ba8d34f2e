"""HTTP control API under /_control/: seed state and read what the sandbox received.

It mirrors the in-process `Sandbox` methods so another process (the demo, a benchmark) can
drive a sandbox it did not start; `sandbox.remote.RemoteSandbox` is its client. Injected
misbehaviour: POST /faults, /crash_faults, /throttles; DELETE /faults drops all three;
GET /crashes lists the crash faults that went off.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.crash import WHENS
from sandbox.faults import SERVICES
from sandbox.recording import record_of
from sandbox.state import SandboxState
from sandbox.web import json_response, read_json

PREFIX = "/_control"

Body = dict[str, Any]
Action = Callable[[Request, Body], Any]


class BadRequest(Exception):
    pass


def _field(body: Body, name: str, kind: type, default: Any = ...) -> Any:
    if name not in body or body[name] is None:
        if default is ...:
            raise BadRequest(f"'{name}' is required")
        return default
    value = body[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(f"'{name}' must be {kind.__name__}")
    return value


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def control_routes(state: SandboxState, info: Callable[[], Body]) -> list[Route]:
    def route(path: str, method: str, action: Action) -> Route:
        async def endpoint(request: Request) -> Response:
            body, error = await read_json(request)
            try:
                if error:
                    raise BadRequest(error)
                if body is not None and not isinstance(body, dict):
                    raise BadRequest("body must be a JSON object")
                result = action(request, body or {})
                response = (result if isinstance(result, Response)
                            else json_response(result, 201 if method == "POST" else 200))
            except BadRequest as exc:
                response = json_response({"error": str(exc)}, 400)
            except KeyError as exc:
                response = json_response({"error": str(exc.args[0] if exc.args else exc)}, 404)
            except ValueError as exc:
                response = json_response({"error": str(exc)}, 400)
            # Recorded after answering so GET requests never lists itself.
            state.record(record_of(
                request, "control", f"{request.method} {request.url.path[len(PREFIX):]}", body,
                response.status_code))
            return response

        return Route(PREFIX + path, endpoint, methods=[method])

    def add_user(request: Request, body: Body) -> Body:
        return {"id": state.add_user(
            _field(body, "name", str), _field(body, "real_name", str, None),
            deleted=_field(body, "deleted", bool, False),
            is_bot=_field(body, "is_bot", bool, False))}

    def add_channel(request: Request, body: Body) -> Body:
        return {"id": state.add_channel(
            _field(body, "name", str), list(_field(body, "members", list, [])),
            is_private=_field(body, "is_private", bool, False),
            bot_is_member=_field(body, "bot_is_member", bool, True))}

    def find_channel(request: Request, body: Body) -> Body:
        name = request.query_params.get("name")
        if not name:
            raise BadRequest("query parameter 'name' is required")
        return {"channel": state.channel_by_name(name)}

    def post_message(request: Request, body: Body) -> Body:
        channel = _field(body, "channel", str)
        text = _field(body, "text", str)
        if "username" in body:  # a bot or integration, not a person
            return {"ts": state.post_bot_message(
                channel, _field(body, "username", str), text,
                bot_id=_field(body, "bot_id", str, "B0OTHER"))}
        return {"ts": state.post_message(
            channel, _field(body, "user", str), text,
            thread_ts=_field(body, "thread_ts", str, None),
            reply_broadcast=_field(body, "reply_broadcast", bool, False))}

    def edit_message(request: Request, body: Body) -> Body:
        state.edit_message(_field(body, "channel", str), _field(body, "ts", str),
                           _field(body, "text", str))
        return {"ok": True}

    def delete_message(request: Request, body: Body) -> Body:
        state.delete_message(_field(body, "channel", str), _field(body, "ts", str))
        return {"ok": True}

    def add_reaction(request: Request, body: Body) -> Body:
        state.add_reaction(_field(body, "channel", str), _field(body, "ts", str),
                           _field(body, "user", str), _field(body, "name", str))
        return {"ok": True}

    def pin_message(request: Request, body: Body) -> Body:
        state.pin_message(_field(body, "channel", str), _field(body, "ts", str))
        return {"ok": True}

    def post_file(request: Request, body: Body) -> Body:
        try:
            content = base64.b64decode(_field(body, "content_b64", str), validate=True)
        except binascii.Error as exc:
            raise BadRequest("'content_b64' must be base64") from exc
        ts, file_id = state.post_file(
            _field(body, "channel", str), _field(body, "user", str), _field(body, "name", str),
            content, _field(body, "mimetype", str, "application/octet-stream"),
            _field(body, "text", str, ""), _field(body, "thread_ts", str, None),
            _field(body, "hidden", bool, False))
        return {"ts": ts, "file": file_id}

    def add_fault(request: Request, body: Body) -> Body:
        service = _field(body, "service", str)
        if service not in SERVICES:
            raise BadRequest(f"service must be one of {SERVICES}")
        state.inject_fault(
            service, _field(body, "target", str), _field(body, "status", int),
            times=_field(body, "times", int, 1),
            retry_after=_field(body, "retry_after", int, None),
            body=_field(body, "body", dict, None))
        return {"ok": True}

    def add_crash_fault(request: Request, body: Body) -> Body:
        service = _field(body, "service", str)
        if service != "*" and service not in SERVICES:
            raise BadRequest(f"service must be '*' or one of {SERVICES}")
        when = _field(body, "when", str, "before")
        if when not in WHENS:
            raise BadRequest(f"when must be one of {WHENS}")
        state.inject_crash(service, _field(body, "target", str), _field(body, "at_call", int),
                           when=when, from_pid=_field(body, "from_pid", int, None))
        return {"ok": True}

    def add_throttle(request: Request, body: Body) -> Body:
        state.throttle(_field(body, "method", str), _field(body, "limit", int),
                       _field(body, "window_seconds", float, 60.0))
        return {"ok": True}

    def clear_faults(request: Request, body: Body) -> Response:
        state.clear_faults()
        return Response(status_code=204)

    def list_requests(request: Request, body: Body) -> Body:
        found = state.requests(request.query_params.get("service") or None,
                               request.query_params.get("name") or None)
        return {"requests": [r.to_json() for r in found]}

    def reset_requests(request: Request, body: Body) -> Response:
        state.reset_requests()
        return Response(status_code=204)

    def attachment_content(request: Request, body: Body) -> Response:
        return Response(state.jira_attachment_content(request.path_params["id"]),
                         media_type="application/octet-stream")

    def create_issue(request: Request, body: Body) -> Body:
        return {"key": state.jira_create_issue(_field(body, "summary", str),
                                               _field(body, "project", str, "SEC"))}

    def get(getter: Callable[[Request], Any]) -> Action:
        return lambda request, body: getter(request)

    return [
        route("/info", "GET", get(lambda r: info())),
        route("/users", "POST", add_user),
        route("/channels", "POST", add_channel),
        route("/channels", "GET", find_channel),
        route("/channels/{id}", "GET", get(lambda r: state.channel(r.path_params["id"]))),
        route("/channels/{id}/messages", "GET", get(lambda r: {"messages": state.messages(
            r.path_params["id"], include_replies=_flag(r, "include_replies"))})),
        route("/messages", "POST", post_message),
        route("/messages/edit", "POST", edit_message),
        route("/messages/delete", "POST", delete_message),
        route("/reactions", "POST", add_reaction),
        route("/pins", "POST", pin_message),
        route("/files", "POST", post_file),
        route("/trigger_ids", "POST", lambda r, b: {
            "trigger_id": state.new_trigger_id(_field(b, "user", str, None))}),
        route("/response_urls", "POST", lambda r, b: {"url": state.new_response_url()}),
        route("/faults", "POST", add_fault),
        route("/faults", "DELETE", clear_faults),
        route("/crash_faults", "POST", add_crash_fault),
        route("/crashes", "GET", get(lambda r: {
            "crashes": [c.to_json() for c in state.crashes()]})),
        route("/throttles", "POST", add_throttle),
        route("/requests", "GET", list_requests),
        route("/requests", "DELETE", reset_requests),
        route("/ephemerals", "GET", get(lambda r: {"ephemerals": state.ephemerals()})),
        route("/responses", "GET", get(lambda r: {"responses": state.responses()})),
        route("/views", "GET", get(lambda r: {"views": state.views()})),
        route("/jira/issues", "GET", get(lambda r: {
            "issues": state.jira_issues(with_content=False)})),
        route("/jira/issues", "POST", create_issue),
        route("/jira/issues/{key}", "GET", get(
            lambda r: state.jira_issue(r.path_params["key"], with_content=False))),
        route("/jira/attachments/{id}/content", "GET", attachment_content),
        route("/pagerduty/events", "GET", get(lambda r: {"events": state.pagerduty()})),
    ]

