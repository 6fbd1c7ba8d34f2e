"""Local emulators of Slack's Web API, Jira REST v2 and PagerDuty Events v2 (a dev tool).

    with Sandbox() as sb:
        client = WebClient(token=sb.bot_token, base_url=sb.slack_api_url)

Nothing in flows/, tasks/ or webhook/ imports this package.
"""

from sandbox.local import Sandbox
from sandbox.recording import RecordedRequest
from sandbox.remote import RemoteSandbox

__all__ = ["RecordedRequest", "RemoteSandbox", "Sandbox"]
