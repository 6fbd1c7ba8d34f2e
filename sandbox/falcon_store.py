"""The emulated CrowdStrike Falcon tenant: one API client, its tokens, and hosts (pure data).

Containment is asynchronous in Falcon: an action puts the host in a pending status that becomes
final once the sensor confirms; here that takes `settle_seconds`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

TOKEN_SECONDS = 1799  # what Falcon grants: 30 minutes less a second
ACTIONS = {"contain": ("containment_pending", "contained"),
           "lift_containment": ("lift_containment_pending", "normal")}


@dataclass
class Host:
    device_id: str
    hostname: str
    platform_name: str = "Windows"
    os_version: str = "Windows 11"
    last_seen: str = "2026-01-01T00:00:00Z"
    status: str = "normal"  # normal / containment_pending / contained / lift_containment_pending
    settles_at: float | None = None  # when a pending status becomes final
    settled_status: str = ""

    def settle(self, now: float) -> None:
        if self.settles_at is not None and now >= self.settles_at:
            self.status, self.settles_at, self.settled_status = self.settled_status, None, ""

    def to_api(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "hostname": self.hostname,
                "platform_name": self.platform_name, "os_version": self.os_version,
                "last_seen": self.last_seen, "status": self.status, "cid": "0" * 32}


@dataclass
class FalconStore:
    client_id: str
    client_secret: str
    settle_seconds: float = 1.0
    hosts: dict[str, Host] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    actions: list[dict[str, Any]] = field(default_factory=list)  # every accepted action

    def issue_token(self, client_id: str, client_secret: str) -> str | None:
        """A bearer token for the right credentials, else None."""
        if not (secrets.compare_digest(client_id, self.client_id)
                and secrets.compare_digest(client_secret, self.client_secret)):
            return None
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return token

    def add_host(self, hostname: str, **details: str) -> str:
        device_id = secrets.token_hex(16)  # Falcon's agent ids: 32 hex characters
        host = Host(device_id, hostname)
        for name in ("platform_name", "os_version", "last_seen", "status"):
            if name in details:
                setattr(host, name, details.pop(name))
        if details:
            raise ValueError(f"unknown host details: {sorted(details)}")
        self.hosts[device_id] = host
        return device_id

    def find(self, hostname: str) -> list[str]:
        """Device ids with this hostname (FQL's hostname match ignores case)."""
        return [h.device_id for h in self.hosts.values()
                if h.hostname.lower() == hostname.lower()]

    def details(self, device_ids: list[str]) -> list[dict[str, Any]]:
        now = time.monotonic()
        found = []
        for device_id in device_ids:
            host = self.hosts.get(device_id)
            if host is not None:
                host.settle(now)
                found.append(host.to_api())
        return found

    def act(self, action: str, device_ids: list[str]) -> list[str]:
        """Apply an action; returns the ids it applied to (unknown ids are skipped)."""
        pending, final = ACTIONS[action]
        now, done = time.monotonic(), []
        for device_id in device_ids:
            host = self.hosts.get(device_id)
            if host is None:
                continue
            host.settle(now)
            host.status, host.settles_at, host.settled_status = (
                pending, now + self.settle_seconds, final)
            self.actions.append({"action": action, "device_id": device_id, "at": time.time()})
            done.append(device_id)
        return done
