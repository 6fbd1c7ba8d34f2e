"""Slack: the bot token (`auth.test`), its scopes (`x-oauth-scopes`), the signing secret, and
the app-level token when Socket Mode is used (`apps.connections.open`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from tasks.clients import slack_client
from tasks.settings import Settings
from tasks.slack_scopes import APP_TOKEN_SCOPE, BOT_SCOPES, scopes_header
from webhook.check.model import Check, Status, not_checked, ok, unreachable

# Errors that mean "this token is not (or no longer) good", as opposed to a fault on the way.
_REFUSALS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
             "not_allowed_token_type"}
BOT_FIX = ("copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions, after "
                 "installing the app, into SLACK_BOT_TOKEN")
APP_FIX = ("create an app-level token with scope connections:write under Basic "
                 "Information → App-Level Tokens, and put it in SLACK_APP_TOKEN")


def slack_checks(settings: Settings, socket_mode: bool, timeout: int) -> list[Check]:
    checks = bot_token(settings, timeout)
    checks.append(signing_secret(socket_mode))
    checks.append(app_token(settings, socket_mode, timeout))
    return checks


def header(response: SlackResponse, name: str) -> str | None:
    """A response header, whatever case the server wrote it in."""
    headers: Mapping[str, Any] = response.headers or {}
    for key, value in headers.items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


def bot_token(settings: Settings, timeout: int) -> list[Check]:
    """auth.test, then the scopes Slack says the token carries against the manifest's."""
    name, scopes = "Slack bot token", "Slack scopes"
    try:
        response = slack_client(settings, timeout=timeout).auth_test()
    except SlackApiError as exc:
        return [_api_error(name, exc, "SLACK_BOT_TOKEN", BOT_FIX),
                not_checked(scopes, "the bot token did not pass")]
    except OSError as exc:
        return [unreachable(name, settings.SLACK_API_URL, exc, "SLACK_API_URL"),
                not_checked(scopes, "Slack did not answer")]
    if not response.get("bot_id"):
        return [Check(name, Status.FAILED, "SLACK_BOT_TOKEN is valid but not a bot token",
                      BOT_FIX), not_checked(scopes, "not a bot token")]
    found = ok(name, f"valid: bot @{response.get('user')} in workspace {response.get('team')} "
                     f"({response.get('team_id')})")
    return [found, scope_check(scopes, header(response, "x-oauth-scopes"))]


def scope_check(name: str, reported: str | None) -> Check:
    """Every scope the manifest declares must be granted; extra ones do no harm."""
    if reported is None:
        return Check(name, Status.FAILED, "Slack did not report the token's scopes",
                     "check that SLACK_API_URL points at Slack's Web API")
    missing = [s for s in BOT_SCOPES if s not in scopes_header(reported)]
    if missing:
        return Check(name, Status.FAILED, f"the bot token lacks {', '.join(missing)}",
                     "add them under OAuth & Permissions → Bot Token Scopes (every scope in "
                     "slack-app-manifest.yaml), then reinstall the app to the workspace")
    return ok(name, f"all {len(BOT_SCOPES)} scopes of the manifest granted")


def signing_secret(socket_mode: bool) -> Check:
    # Settings refuse a missing or placeholder secret before any check runs, so it is present;
    # whether it is the right one only Slack can show, by signing the first request.
    if socket_mode:
        return ok("Slack signing secret", "SLACK_SIGNING_SECRET is set (Socket Mode does not "
                                          "use it: requests arrive over the socket)")
    return ok("Slack signing secret", "SLACK_SIGNING_SECRET is set (a wrong one shows as 401s "
                                      "to Slack's requests: copy it from Basic Information)")


def app_token(settings: Settings, socket_mode: bool, timeout: int) -> Check:
    """apps.connections.open: the call Socket Mode makes at every (re)connection."""
    name = "Slack app token"
    token = settings.SLACK_APP_TOKEN
    if token is None:
        if socket_mode:
            return Check(name, Status.MISSING, "SLACK_APP_TOKEN is not set, and Socket Mode "
                                               "needs it", APP_FIX)
        return ok(name, "not set: HTTP mode (set SLACK_APP_TOKEN for Socket Mode)")
    try:
        response = slack_client(settings, timeout=timeout).apps_connections_open(
            app_token=token.get_secret_value())
    except SlackApiError as exc:
        return _api_error(name, exc, "SLACK_APP_TOKEN", APP_FIX)
    except OSError as exc:
        return unreachable(name, settings.SLACK_API_URL, exc, "SLACK_API_URL")
    granted = scopes_header(header(response, "x-oauth-scopes"))
    if granted and APP_TOKEN_SCOPE not in granted:
        return Check(name, Status.FAILED, f"SLACK_APP_TOKEN lacks {APP_TOKEN_SCOPE}",
                     APP_FIX)
    return ok(name, "valid for Socket Mode (apps.connections.open answered with a socket URL)")


def _api_error(name: str, exc: SlackApiError, setting: str, fix: str) -> Check:
    status = getattr(exc.response, "status_code", 200)
    error = str(exc.response.get("error") or f"HTTP {status}")
    if status >= 500 or error == "ratelimited":
        return Check(name, Status.UNREACHABLE, f"Slack answered {error}", "try again shortly")
    if error in _REFUSALS:
        return Check(name, Status.REFUSED, f"Slack refused {setting} ({error})", fix)
    if error == "missing_scope":
        needed = exc.response.get("needed") or APP_TOKEN_SCOPE
        return Check(name, Status.FAILED, f"{setting} lacks the scope {needed}", fix)
    return Check(name, Status.FAILED, f"Slack answered {error} for {setting}", fix)
