"""Errors a responder can act on; each carries the message we show them."""

from __future__ import annotations


class IrbotError(RuntimeError):
    """A failure with a message fit for the person who asked (no secrets, says what to do)."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class CaseNotFound(IrbotError):
    """The Jira key given does not exist (or we may not see it)."""


class ChannelNameTaken(IrbotError):
    """The incident channel's name belongs to a channel that is not ours."""


class VendorRefused(IrbotError):
    """Slack, Jira or PagerDuty refused a request permanently (scope, validation, ...)."""


class NotAnIncident(IrbotError):
    """The channel has no incident state (never was one, or already archived)."""


class FalconError(IrbotError):
    """CrowdStrike Falcon answered with an error (or not at all); `transient` ones are retried."""

    def __init__(self, user_message: str, status: int = 0, transient: bool = False,
                 retry_after: float = 0.0) -> None:
        super().__init__(user_message)
        self.status = status
        self.transient = transient
        self.retry_after = retry_after  # seconds Falcon asked us to wait (a 429), else 0


class HostLookupFailed(IrbotError):
    """No host, or several hosts, by the name given: nothing to act on."""
