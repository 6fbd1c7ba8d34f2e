"""CrowdStrike Falcon, when configured: an OAuth2 client-credentials token request."""

from __future__ import annotations

import httpx

from tasks.settings import Settings
from webhook.check.model import Check, Status, ok, unreachable

NAME = "Falcon API client"
FIX = ("create an API client with scope Hosts: write (Support and resources → API clients and "
       "keys) and set FALCON_CLIENT_ID and FALCON_CLIENT_SECRET")


def falcon_check(settings: Settings, timeout: float) -> Check:
    client_id, secret = settings.FALCON_CLIENT_ID, settings.FALCON_CLIENT_SECRET
    if client_id is None and secret is None:
        return ok(NAME, "not configured (optional: host containment stays off)")
    if client_id is None or secret is None:
        unset = "FALCON_CLIENT_ID" if client_id is None else "FALCON_CLIENT_SECRET"
        return Check(NAME, Status.MISSING, f"{unset} is not set (both are needed)", FIX)
    url = f"{settings.FALCON_BASE_URL}/oauth2/token"
    try:
        response = httpx.post(url, data={"client_id": client_id,
                                         "client_secret": secret.get_secret_value()},
                              timeout=timeout)
    except httpx.HTTPError as exc:
        return unreachable(NAME, settings.FALCON_BASE_URL, exc, "FALCON_BASE_URL")
    if response.status_code in (400, 401, 403):
        return Check(NAME, Status.REFUSED, f"Falcon refused FALCON_CLIENT_ID / "
                     f"FALCON_CLIENT_SECRET (HTTP {response.status_code})", FIX)
    if response.status_code >= 500 or response.status_code == 429:
        return Check(NAME, Status.UNREACHABLE, f"Falcon answered HTTP {response.status_code}",
                     "try again shortly")
    try:
        token = response.json().get("access_token")
    except ValueError:
        token = None
    if not token:
        return Check(NAME, Status.FAILED, f"no token from {url} (HTTP {response.status_code})",
                     "set FALCON_BASE_URL to your cloud's API address, e.g. "
                     "https://api.us-2.crowdstrike.com")
    return ok(NAME, "credentials accepted (an OAuth2 token was issued)")
