"""Who runs irbot's deployments on a Prefect server: `irbot serve` or workers, never both.

Both register the same names (tasks/deployments.py), and each would silently take over the
other's: `serve`'s runner rewrites a deployment without its work pool (the workers never see
another run), and `prefect deploy` gives serve's deployments a work pool while the runner still
polls them by id (the two race for every run). So on a given server the first one owns them;
`irbot serve` refuses deployments made by `prefect deploy`, and `irbot topology` refuses
`serve`'s. Switching is deliberate: stop the owner, delete the deployments, start the other.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx

from tasks.deployments import ALL
from webhook.check.prefect import api_auth_headers

_TIMEOUT_SECONDS = 10.0


def deployment_pools(api_url: str, env: Mapping[str, str],
                     wait: float = 60.0) -> dict[str, str | None]:
    """irbot's deployments on that server: full name → its work pool (None: a runner's).

    A server that does not answer yet (starting beside us) is waited for up to `wait` s.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            return _read_pools(api_url, env)
        except httpx.TransportError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1)


def _read_pools(api_url: str, env: Mapping[str, str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    with httpx.Client(base_url=api_url.rstrip("/") + "/", headers=api_auth_headers(env),
                      timeout=_TIMEOUT_SECONDS) as http:
        for name in ALL:
            response = http.get(f"deployments/name/{name}")
            if response.status_code == 404:
                continue
            response.raise_for_status()
            found[name] = response.json().get("work_pool_name")
    return found


def delete_commands(names: list[str]) -> str:
    return "\n".join(f"  prefect deployment delete {name}" for name in names)


def refusal_for_serve(pools: Mapping[str, str | None]) -> str | None:
    """Why `irbot serve` must not start here, or None: workers own these deployments."""
    owned = sorted(name for name, pool in pools.items() if pool)
    if not owned:
        return None
    pool = pools[owned[0]]
    return (f"this Prefect server's irbot deployments belong to workers (made by `prefect "
            f"deploy`, work pool {pool!r}); `irbot serve` would take them over from them.\n"
            "To keep the workers, run the webhook alone: uvicorn webhook.app:create_api "
            "--factory. To switch this server to `irbot serve`: stop the workers, delete "
            f"the deployments, then start `irbot serve` again:\n{delete_commands(owned)}")


def refusal_for_workers(pools: Mapping[str, str | None]) -> str | None:
    """Why `prefect deploy` must not run here, or None: `irbot serve` owns these deployments."""
    served = sorted(name for name, pool in pools.items() if not pool)
    if not served:
        return None
    return ("this Prefect server's irbot deployments belong to `irbot serve` (no work pool); "
            "deploying them for workers would take them over while its runner still runs "
            "them.\nTo switch this server to workers: stop `irbot serve`, delete the "
            f"deployments, then start again:\n{delete_commands(served)}")
