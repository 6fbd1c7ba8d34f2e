"""Prefect: the API answers, and irbot's deployments are there once irbot has been deployed."""

from __future__ import annotations

import base64
from collections.abc import Mapping

import httpx

from tasks.deployments import ALL
from webhook.check.model import Check, Status, not_checked, ok, unreachable

DEPLOY_HINT = "`irbot serve` or `prefect deploy --all --no-prompt` creates them"


def prefect_checks(environ: Mapping[str, str], timeout: float) -> list[Check]:
    # Read as `irbot serve` reads it: from the environment, not from a Prefect profile.
    api = (environ.get("PREFECT_API_URL") or "").rstrip("/")
    if not api:
        return [ok("Prefect API", "PREFECT_API_URL not set: `irbot serve` starts a local Prefect "
                                  "server (SQLite) and stops it on exit")]
    with httpx.Client(base_url=api, headers=api_auth_headers(environ), timeout=timeout) as http:
        try:
            health = http.get("/health")
        except httpx.HTTPError as exc:
            return [unreachable("Prefect API", api, exc, "PREFECT_API_URL"),
                    not_checked("Prefect deployments", "the API did not answer")]
        if health.status_code in (401, 403):
            return [Check("Prefect API", Status.REFUSED, f"{api} refused irbot "
                          f"(HTTP {health.status_code})",
                          "set PREFECT_API_AUTH_STRING (self-hosted) or PREFECT_API_KEY (Cloud)"),
                    not_checked("Prefect deployments", "the API refused irbot")]
        if health.status_code != 200:
            return [Check("Prefect API", Status.UNREACHABLE, f"{api}/health answered HTTP "
                          f"{health.status_code}", "check the server and PREFECT_API_URL"),
                    not_checked("Prefect deployments", "the API is not healthy")]
        return [ok("Prefect API", f"{api} is healthy"), _deployments(http)]


def _deployments(http: httpx.Client) -> Check:
    names = ALL
    try:
        present = [n for n in names if http.get(f"/deployments/name/{n}").status_code == 200]
    except httpx.HTTPError as exc:
        return unreachable("Prefect deployments", str(http.base_url), exc, "PREFECT_API_URL")
    if len(present) == len(names):
        return ok("Prefect deployments", f"all {len(names)} present ({', '.join(names)})")
    if not present:
        return ok("Prefect deployments", f"irbot is not deployed on this server yet: "
                                         f"{DEPLOY_HINT}")
    missing = [n for n in names if n not in present]
    return Check("Prefect deployments", Status.FAILED, f"missing {', '.join(missing)}",
                 f"deploy them again: {DEPLOY_HINT}")


def api_auth_headers(environ: Mapping[str, str]) -> dict[str, str]:
    """The header Prefect's own client would send, from the same settings (the server's auth
    string first, as Prefect's client prefers it, else a Prefect Cloud key)."""
    if environ.get("PREFECT_API_AUTH_STRING"):
        encoded = base64.b64encode(environ["PREFECT_API_AUTH_STRING"].encode()).decode()
        return {"Authorization": f"Basic {encoded}"}
    if environ.get("PREFECT_API_KEY"):
        return {"Authorization": f"Bearer {environ['PREFECT_API_KEY']}"}
    return {}
