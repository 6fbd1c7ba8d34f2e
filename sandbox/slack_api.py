"""Slack Web API endpoint (/slack/api/<method>) and response URLs (/slack/response/<key>)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from sandbox import slack_chat, slack_conversations, slack_history, slack_users, slack_views
from sandbox.manifest import APP_TOKEN_SCOPE
from sandbox.recording import record_of
from sandbox.slack_params import Params, SlackError, merged_params
from sandbox.slack_store import RESPONSE_URL_MAX_POSTS, Workspace
from sandbox.socket_mode import PATH as SOCKET_PATH
from sandbox.state import SandboxState
from sandbox.web import fault_response, json_response, read_json

APPS_CONNECTIONS_OPEN = "apps.connections.open"
Method = Callable[[Workspace, Params], dict[str, Any]]

METHODS: dict[str, Method] = {
    "auth.test": slack_users.auth_test,
    "users.info": slack_users.users_info,
    "users.list": slack_users.users_list,
    "usergroups.users.list": slack_users.usergroup_members,
    "conversations.create": slack_conversations.create,
    "conversations.info": slack_conversations.info,
    "conversations.list": slack_conversations.list_,
    "conversations.setTopic": slack_conversations.set_topic,
    "conversations.setPurpose": slack_conversations.set_purpose,
    "conversations.invite": slack_conversations.invite,
    "conversations.archive": slack_conversations.archive,
    "conversations.history": slack_history.history,
    "conversations.replies": slack_history.replies,
    "chat.postMessage": slack_chat.post_message,
    "chat.postEphemeral": slack_chat.post_ephemeral,
    "chat.update": slack_chat.update,
    "views.open": slack_views.open_,
    "views.update": slack_views.update,
}


def slack_routes(state: SandboxState) -> list[Route]:
    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        header = request.headers.get("authorization", "")
        try:
            raw = await merged_params(request)
            parse_error = None
        except SlackError as exc:
            raw, parse_error = {}, exc
        token = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
        token = token or str(raw.get("token") or "")  # Slack also takes the token as a param
        kind = _token_kind(state, token)
        auth_valid = kind is not None
        if method == APPS_CONNECTIONS_OPEN:
            response = _connections_open(state, kind)
        else:
            if kind == "app":  # an app-level token opens sockets and nothing else
                response = json_response({"ok": False, "error": "not_allowed_token_type"})
            else:
                response = _answer(state, method, Params(raw), token, auth_valid, parse_error)
        if kind is not None:
            # Slack reports the token's scopes on every authenticated answer.
            response.headers["x-oauth-scopes"] = ",".join(
                state.bot_scopes if kind == "bot" else (APP_TOKEN_SCOPE,))
        state.record(record_of(
            request, "slack", method,
            {k: v for k, v in raw.items() if k != "token"},  # never keep a token
            response.status_code,
            query={k: v for k, v in request.query_params.items() if k != "token"},
            auth_present=bool(token), auth_valid=auth_valid))
        return response

    async def response_url(request: Request) -> Response:
        key = request.path_params["key"]
        body, error = await read_json(request)
        with state.lock:
            slot = state.slack.response_urls.get(key)
            if slot is None:
                response: Response = PlainTextResponse("no_such_url", 404)
            elif slot.posts >= RESPONSE_URL_MAX_POSTS:
                response = PlainTextResponse("used_url", 404)
            elif error or not isinstance(body, dict):
                response = PlainTextResponse("invalid_payload", 400)
            else:
                slot.posts += 1
                # The URL exactly as handed out, so callers can match their own answers.
                url = f"{state.base_url}/slack/response/{key}"
                state.slack.responses.append({"url": url, "body": body})
                response = PlainTextResponse("ok")
        state.record(record_of(request, "slack", "response_url", body, response.status_code))
        return response

    return [
        Route("/slack/api/{method}", api, methods=["GET", "POST"]),
        Route("/slack/response/{key}", response_url, methods=["POST"]),
    ]


def _private_scope(method: str, params: Params) -> str | None:
    """The scope Slack wants for a private channel (the one check the emulator makes)."""
    if method == "conversations.create" and params.get_bool("is_private"):
        return "groups:write"
    return None


def _token_kind(state: SandboxState, token: str) -> str | None:
    """"bot", "app" (the Socket Mode token) or None when neither matches."""
    for kind, expected in (("bot", state.credentials.bot_token),
                           ("app", state.credentials.app_token)):
        if token and expected and hmac.compare_digest(token.encode(), expected.encode()):
            return kind
    return None


def _connections_open(state: SandboxState, kind: str | None) -> Response:
    """A one-off WebSocket URL on this server; only the app-level token may ask."""
    with state.lock:
        fault = state.faults.take("slack", APPS_CONNECTIONS_OPEN)
        if fault is not None:
            return fault_response(fault)
        base = state.base_url
    if kind is None:
        return json_response({"ok": False, "error": "invalid_auth"})
    if kind != "app":
        return json_response({"ok": False, "error": "not_allowed_token_type"})
    ws_base = "ws" + base.removeprefix("http")
    return json_response({"ok": True,
                          "url": f"{ws_base}{SOCKET_PATH}?ticket={state.socket.new_ticket()}"})


def _answer(state: SandboxState, method: str, params: Params, token: str, auth_valid: bool,
            parse_error: SlackError | None) -> Response:
    with state.lock:
        fault = state.faults.take("slack", method)
        if fault is not None:
            return fault_response(fault)
        retry_after = state.throttles.take(method, time.monotonic())
        if retry_after is not None:
            return json_response({"ok": False, "error": "ratelimited"}, 429,
                                 {"Retry-After": str(retry_after)})
        try:
            if not token:
                raise SlackError("not_authed")
            if not auth_valid:
                raise SlackError("invalid_auth")
            if parse_error is not None:
                raise parse_error
            handler = METHODS.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            needed = _private_scope(method, params)
            if needed and needed not in state.bot_scopes:
                raise SlackError("missing_scope", needed=needed,
                                 provided=",".join(state.bot_scopes))
            body = {"ok": True, **handler(state.slack, params)}
        except SlackError as exc:
            body = exc.body()
        # Rendered under the lock: the body may still share nested values with the store.
        return json_response(body)
