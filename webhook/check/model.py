"""One line of `irbot check`: what was checked, what was found, what to do about it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import httpx
import requests


class Status(enum.Enum):
    OK = "ok"
    MISSING = "missing"  # a setting the check needs is not set
    REFUSED = "refused"  # the service refused the credentials
    FAILED = "failed"  # the service answered, and the answer means irbot will not work
    UNREACHABLE = "unreachable"  # no answer: the network, a proxy, or the service itself
    NOT_CHECKED = "not_checked"  # an earlier line failed, so this could not be asked


# `irbot serve` refuses to start on these; the rest are warnings there (DESIGN: a service that
# is down now may be up when the first command comes, a wrong credential will not fix itself).
HARD = frozenset({Status.MISSING, Status.REFUSED})


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def passed(self) -> bool:
        return self.status is Status.OK

    @property
    def hard(self) -> bool:
        return self.status in HARD

    def line(self) -> str:
        """`✓ name: detail` or `✗ name: detail → fix`."""
        mark = "✓" if self.passed else "✗"
        text = f"{mark} {self.name}: {self.detail}"
        return f"{text} → {self.fix}" if self.fix and not self.passed else text


def ok(name: str, detail: str) -> Check:
    return Check(name, Status.OK, detail)


def not_checked(name: str, because: str) -> Check:
    return Check(name, Status.NOT_CHECKED, f"not checked ({because})",
                 "fix the line above first")


def unreachable(name: str, where: str, exc: BaseException, setting: str) -> Check:
    """No answer at all: say where we knocked and how it failed, never with what credentials."""
    return Check(name, Status.UNREACHABLE, f"no answer from {where} ({describe(exc)})",
                 f"check the network or proxy, and {setting}")


def describe(exc: BaseException) -> str:
    """A short, secret-free description of a transport error."""
    if isinstance(exc, httpx.TimeoutException | requests.Timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, httpx.ConnectError | requests.ConnectionError | ConnectionError):
        return "connection failed"
    return type(exc).__name__


def summary(checks: list[Check]) -> str:
    """The closing line: what to do next."""
    failed = [c for c in checks if not c.passed and c.status is not Status.NOT_CHECKED]
    if not failed:
        return f"All {len(checks)} checks passed."
    skipped = len([c for c in checks if c.status is Status.NOT_CHECKED])
    also = f" and {skipped} could not be checked" if skipped else ""
    return (f"{len(failed)} of {len(checks)} checks failed{also}: fix the ✗ lines above, then "
            "run `irbot check` again.")
