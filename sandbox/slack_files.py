"""Slack file downloads (`url_private`, `url_private_download`): the bot token is required."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from sandbox.recording import record_of
from sandbox.slack_changes import StoredFile
from sandbox.state import SandboxState
from sandbox.web import fault_response

DOWNLOAD_NAME = "files.download"  # how downloads appear among the recorded Slack requests


def file_routes(state: SandboxState) -> list[Route]:
    async def download(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        token = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
        valid = bool(token) and hmac.compare_digest(token.encode(),
                                                     state.credentials.bot_token.encode())
        with state.lock:
            fault = state.faults.take("slack", DOWNLOAD_NAME)
            stored: StoredFile | None = state.slack.files.get(request.path_params["id"])
            if fault is not None:
                response = fault_response(fault)
            elif not valid:
                # Slack answers a missing or wrong token with its login page; a status is
                # clearer to test against and what clients see behind a proxy.
                response = PlainTextResponse("not_authed", 403)
            elif stored is None:
                response = PlainTextResponse("file_not_found", 404)
            elif stored.hidden:
                response = PlainTextResponse("hidden_by_limit", 403)
            else:
                response = Response(stored.content, media_type=stored.mimetype)
        state.record(record_of(request, "slack", DOWNLOAD_NAME,
                               {"file": request.path_params["id"]}, response.status_code,
                               auth_present=bool(token), auth_valid=valid))
        return response

    return [Route("/slack/files/{id}/{name:path}", download, methods=["GET"])]
