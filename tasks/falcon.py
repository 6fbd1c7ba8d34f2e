"""CrowdStrike Falcon's Hosts API through falconpy: find a host, read it, contain, lift.

falconpy returns every answer as {status_code, headers, body} and retries nothing itself (it
only fetches a new token when it has none): the Prefect task retries (tasks/retry.py) are the one
retry layer, for a 429 (after X-RateLimit-RetryAfter) or a 5xx. Every other answer is final.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from prefect import task
from prefect.runtime import task_run

from tasks import messages
from tasks.errors import FalconError, HostLookupFailed
from tasks.retry import TASK_OPTIONS, is_repeat_attempt

if TYPE_CHECKING:
    from falconpy import Hosts  # ~0.4 s to import: built (and imported) by tasks/clients.py

# Our action → Falcon's action_name (devices-actions/v2).
FALCON_ACTIONS = {"contain": "contain", "lift": "lift_containment"}
# Statuses after which a repeated request must not be sent again (it took effect already).
TAKEN = {"contain": {"containment_pending", "contained"},
          "lift": {"lift_containment_pending", "normal"}}
_OK = (200, 201, 202)
# X-RateLimit-RetryAfter is a Unix time; a small number is read as seconds (some proxies).
_EPOCH_FLOOR = 1_000_000_000


def _header(headers: Any, name: str) -> str:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name:
            return str(value)
    return ""


def retry_after(headers: Any, now: float | None = None) -> float:
    """Seconds a 429 asked us to wait (0 when it did not say or said nonsense)."""
    try:
        value = float(_header(headers, "x-ratelimit-retryafter") or 0)
    except ValueError:
        return 0.0
    if value >= _EPOCH_FLOOR:
        value -= time.time() if now is None else now
    return max(value, 0.0)


def error_detail(body: Any) -> str:
    """Falcon's first error message ("" when there is none)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message") or "")
    return ""


def falcon_error(status: int, headers: Any, body: Any, attempts: int) -> FalconError:
    """A refused or failed call as a responder reads it (pure; tested by table)."""
    if status == 401:
        return FalconError(messages.falcon_auth_refused(status), status)
    if status == 403:
        return FalconError(messages.falcon_forbidden(status), status)
    if status == 429:
        return FalconError(messages.falcon_throttled(attempts), status, transient=True,
                           retry_after=retry_after(headers))
    if status >= 500 or status == 0:
        return FalconError(messages.falcon_unavailable(status, attempts), status, transient=True)
    return FalconError(messages.falcon_rejected(status, error_detail(body)), status)


def checked(result: Any) -> dict[str, Any]:
    """The body of a successful answer; raises FalconError otherwise."""
    if not isinstance(result, dict):
        raise FalconError(messages.falcon_unavailable(0, _attempts()), transient=True)
    status = int(result.get("status_code") or 0)
    body = result.get("body") if isinstance(result.get("body"), dict) else {}
    if status not in _OK:
        raise falcon_error(status, result.get("headers"), body, _attempts())
    return dict(body or {})


def _attempts() -> int:
    return max(int(task_run.get_run_count() or 1), 1)


def pick_one(hostname: str, device_ids: list[str]) -> str:
    """The one device with that hostname; none or several is the responder's to sort out."""
    if not device_ids:
        raise HostLookupFailed(messages.host_not_found(hostname))
    if len(device_ids) > 1:
        raise HostLookupFailed(messages.hosts_ambiguous(hostname, device_ids))
    return device_ids[0]


@task(name="falcon-find-host", **TASK_OPTIONS)
def find_host(hosts: Hosts, hostname: str) -> dict[str, Any]:
    """The host's details (device_id, hostname, platform_name, os_version, last_seen, status)."""
    # The hostname was checked to hold no quote (webhook/commands.py): the filter stays one term.
    found = checked(hosts.query_devices_by_filter(filter=f"hostname:'{hostname}'"))
    device_id = pick_one(hostname, [str(i) for i in found.get("resources") or []])
    return _details(hosts, device_id)


@task(name="falcon-host-details", **TASK_OPTIONS)
def host_details(hosts: Hosts, device_id: str) -> dict[str, Any]:
    return _details(hosts, device_id)


def _details(hosts: Hosts, device_id: str) -> dict[str, Any]:
    resources = checked(hosts.get_device_details(ids=[device_id])).get("resources") or []
    if not resources or not isinstance(resources[0], dict):
        raise HostLookupFailed(messages.host_not_found(device_id))
    return dict(resources[0])


@task(name="falcon-host-action", **TASK_OPTIONS)
def request_action(hosts: Hosts, action: str, device_id: str) -> None:
    """Ask Falcon to contain or lift, once: a repeated attempt (a retry after a 5xx that may hide
    a success, a re-run) first looks whether the host already moved."""
    if is_repeat_attempt() and _details(hosts, device_id).get("status") in TAKEN[action]:
        return
    checked(hosts.perform_action(action_name=FALCON_ACTIONS[action], ids=[device_id]))


def settled_status(hosts: Hosts, action: str, device_id: str, wait_seconds: float,
                   poll_seconds: float = 2.0) -> str:
    """The host's status once the action is done, or the last one seen after `wait_seconds`."""
    done = messages.HOST_ACTIONS[action][2]
    deadline = time.monotonic() + wait_seconds
    while True:
        status = str(host_details(hosts, device_id).get("status") or "")
        if status == done or time.monotonic() >= deadline:
            return status
        time.sleep(poll_seconds)
