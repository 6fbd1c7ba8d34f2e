"""CrowdStrike Falcon's OAuth2 and Hosts API under /falcon: what falconpy's `Hosts` calls."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.falcon_store import ACTIONS, TOKEN_SECONDS
from sandbox.recording import record_of
from sandbox.state import SandboxState
from sandbox.web import falcon_error, fault_response, json_response, read_json

MOUNT = "/falcon"
# FQL as irbot (and most scripts) write a hostname search: hostname:'NAME' (or "NAME").
_HOSTNAME_FILTER = re.compile(r"""hostname:\s*(['"])(.*)\1\s*""")


def _ok(resources: list[Any], status: int = 200) -> Response:
    return json_response({"meta": {"query_time": 0.001, "trace_id": "sandbox"},
                          "errors": [], "resources": resources}, status)


def _ids_of(request: Request, body: Any) -> list[str]:
    """`ids` from the query string (GET, repeated or comma-separated) or a JSON body (POST)."""
    ids: list[str] = []
    for value in request.query_params.getlist("ids"):
        ids += [part for part in value.split(",") if part]
    if isinstance(body, dict) and isinstance(body.get("ids"), list):
        ids += [str(i) for i in body["ids"]]
    return ids


def falcon_routes(state: SandboxState) -> list[Route]:
    async def token(request: Request) -> Response:
        form = parse_qs((await request.body()).decode(errors="replace"))
        client_id = (form.get("client_id") or [""])[0]
        secret = (form.get("client_secret") or [""])[0]
        with state.lock:
            fault = state.faults.take("falcon", "POST /oauth2/token")
            if fault is not None:
                response = fault_response(fault)
            else:
                issued = state.falcon.issue_token(client_id, secret)
                response = (falcon_error(401, "access denied, invalid client") if issued is None
                            else json_response({"access_token": issued, "token_type": "bearer",
                                                "expires_in": TOKEN_SECONDS}, 201))
        # The secret is never kept: the record is printed in test failures.
        state.record(record_of(request, "falcon", "POST /oauth2/token",
                               {"client_id": client_id}, response.status_code,
                               auth_present=bool(secret), auth_valid=response.status_code == 201))
        return response

    async def api(request: Request) -> Response:
        path = request.url.path[len(MOUNT):]
        name = f"{request.method} {path}"
        body, parse_error = await read_json(request) if request.method == "POST" else (None, None)
        header = request.headers.get("authorization", "")
        bearer = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
        with state.lock:
            valid = bool(bearer) and bearer in state.falcon.tokens
            fault = state.faults.take("falcon", name)
            if fault is not None:
                response = fault_response(fault)
            elif not valid:
                response = falcon_error(401, "access denied, authorization failed")
            elif parse_error is not None:
                response = falcon_error(400, parse_error)
            else:
                response = _answer(state, request, path, body)
        state.record(record_of(request, "falcon", name, body, response.status_code,
                               auth_present=bool(bearer), auth_valid=valid))
        return response

    return [
        Route(MOUNT + "/oauth2/token", token, methods=["POST"]),
        Route(MOUNT + "/devices/queries/devices/v1", api, methods=["GET"]),
        Route(MOUNT + "/devices/entities/devices/v2", api, methods=["GET", "POST"]),
        Route(MOUNT + "/devices/entities/devices-actions/v2", api, methods=["POST"]),
    ]


def _answer(state: SandboxState, request: Request, path: str, body: Any) -> Response:
    """One authorised Hosts call; the caller holds the sandbox lock."""
    store = state.falcon
    if path == "/devices/queries/devices/v1":
        match = _HOSTNAME_FILTER.fullmatch(request.query_params.get("filter", "").strip())
        if match is None:
            return falcon_error(400, "Invalid filter: the sandbox understands hostname:'NAME'")
        return _ok(store.find(match.group(2)))
    if path == "/devices/entities/devices/v2":
        ids = _ids_of(request, body)
        if not ids:
            return falcon_error(400, "ids is required")
        found = store.details(ids)
        return _ok(found) if found else falcon_error(404, "Device not found")
    action = request.query_params.get("action_name", "")
    if action not in ACTIONS:
        return falcon_error(400, f"invalid action_name {action!r}")
    ids = _ids_of(request, body)
    if not ids:
        return falcon_error(400, "ids is required")
    done = store.act(action, ids)
    if not done:
        return falcon_error(404, "Device not found")
    return _ok([{"id": device_id, "path": ""} for device_id in done], 202)
