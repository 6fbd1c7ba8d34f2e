"""Crash faults: SIGKILL the client whose k-th matching request arrives, to test crash healing.

`before`: the request never takes effect (nothing stored, not recorded as received) and the
connection just dies. `after`: the emulator applies and records it, then the client dies before
the answer is written, the case where a client cannot know whether its call happened.
Which process sent a request is found from its loopback port (`sandbox.peers`); the ASGI side
lives in `sandbox.crash_asgi`. Pure bookkeeping here; callers hold the sandbox lock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from sandbox.faults import SERVICES, check_target, target_matches

CrashService = Literal["slack", "jira", "pagerduty", "*"]
When = Literal["before", "after"]
WHENS: tuple[When, ...] = ("before", "after")


@dataclass(frozen=True)
class Client:
    """The process that sent a request, and its ancestors (for `from_pid` scopes)."""

    pid: int
    ancestors: frozenset[int]


@dataclass
class CrashFault:
    service: CrashService  # "*": count every outside call (Slack, Jira, PagerDuty alike)
    target: str  # as for `Fault`; "*" when service is "*"
    at_call: int  # 1-based: the k-th matching request since injection
    when: When
    from_pid: int | None = None  # count only requests from this process or its descendants
    seen: int = 0

    def covers(self, service: str, name: str) -> bool:
        """Whether the request is one this fault names, whoever sent it."""
        return self.service in ("*", service) and target_matches(self.target, service, name)

    def matches(self, service: str, name: str, client: Client | None) -> bool:
        if not self.covers(service, name):
            return False
        if self.from_pid is None:
            return True
        return client is not None and (client.pid == self.from_pid
                                       or self.from_pid in client.ancestors)


@dataclass(frozen=True)
class CrashRecord:
    """One crash fault that went off: whom it killed, or why it refused to."""

    service: str
    name: str  # as in RecordedRequest.name
    when: When
    call: int  # the k it fired at
    pid: int | None
    killed: bool
    reason: str  # empty when killed; else why not (the sandbox's own process, not found, ...)
    at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CrashRecord:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


class CrashBook:
    """Pending crash faults, one-shot. Every pending fault counts the requests it matches; when
    several come due on one request the first injected fires and the others wait for their
    next match."""

    def __init__(self) -> None:
        self._faults: list[CrashFault] = []
        self.fired: list[CrashRecord] = []

    def add(self, fault: CrashFault) -> None:
        if fault.service != "*" and fault.service not in SERVICES:
            raise ValueError(f"unknown service {fault.service!r}; expected '*' or one of "
                             f"{SERVICES}")
        if fault.service == "*" and fault.target != "*":
            raise ValueError("service '*' counts every outside call: its target must be '*'")
        if fault.at_call < 1:
            raise ValueError("at_call must be at least 1")
        if fault.when not in WHENS:
            raise ValueError(f"when must be one of {WHENS}")
        check_target(fault.service, fault.target)
        self._faults.append(fault)

    def needs_client(self, service: str, name: str) -> bool:
        """Whether counting this request needs to know its process (a scoped fault might match):
        the look-up costs ~20 ms, so it is done only then."""
        return any(f.from_pid is not None and f.covers(service, name) for f in self._faults)

    def arrive(self, service: str, name: str, client: Client | None) -> CrashFault | None:
        """Count one arriving request; the fault due on it, removed from the book, if any."""
        due: CrashFault | None = None
        for fault in self._faults:
            if fault.matches(service, name, client):
                fault.seen += 1
                if due is None and fault.seen >= fault.at_call:
                    due = fault
        if due is not None:
            self._faults.remove(due)
        return due

    def clear(self) -> None:
        self._faults.clear()

    def pending(self) -> list[CrashFault]:
        return list(self._faults)
