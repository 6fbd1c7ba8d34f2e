"""The Starlette application: every emulated service on one server."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.crash_asgi import CrashMiddleware
from sandbox.falcon_api import falcon_routes
from sandbox.jira_api import jira_routes
from sandbox.pagerduty_api import pagerduty_routes
from sandbox.slack_api import slack_routes
from sandbox.slack_files import file_routes
from sandbox.socket_mode import socket_routes
from sandbox.state import SandboxState


def build_app(state: SandboxState) -> Starlette:
    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[
        Route("/_health", health, methods=["GET"]),
        *slack_routes(state),
        *socket_routes(state.socket),
        *file_routes(state),
        *jira_routes(state),
        *pagerduty_routes(state),
        *falcon_routes(state),
    ], middleware=[Middleware(CrashMiddleware, state=state)])
