"""Local emulators of Slack's Web API, Jira REST v2 and PagerDuty Events v2 (a dev tool).

    with Sandbox() as sb:
        client = WebClient(token=sb.bot_token, base_url=sb.slack_api_url)

Besides seeding state and reading what was received, tests can make it misbehave:
`inject_fault` (the next N matching requests get an HTTP status), `inject_crash` (SIGKILL the
client process at its k-th matching call, before or after the call takes effect; `crashes()`
says whom it killed) and `throttle` (Slack-tier rate limits, 429 + Retry-After).
`python -m sandbox` serves the same emulators on their own, to point irbot at by hand.

Nothing in flows/, tasks/ or webhook/ imports this package.
"""

from sandbox.local import Sandbox
from sandbox.recording import RecordedRequest

__all__ = ["RecordedRequest", "Sandbox"]
