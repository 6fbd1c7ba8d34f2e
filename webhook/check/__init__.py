"""`irbot check`: settings, credentials, scopes and permissions, one line each.

Every line names settings, never their values: the output is meant to be pasted into tickets.
"""

from webhook.check.model import Check, Status
from webhook.check.run import all_checks, startup_checks

__all__ = ["Check", "Status", "all_checks", "startup_checks"]
