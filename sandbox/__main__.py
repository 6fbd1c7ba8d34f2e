"""`python -m sandbox [--host 127.0.0.1] [--port 8900]`: serve the emulators until a signal."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from sandbox.local import DEFAULT_APP_TOKEN, Sandbox
from sandbox.manifest import manifest_bot_scopes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900, help="0 picks a free port")
    parser.add_argument("--bot-token", default="xoxb-sandbox-token")
    parser.add_argument("--jira-user", default="bot@example.com")
    parser.add_argument("--jira-token", default="jira-sandbox-token")
    parser.add_argument("--jira-project", action="append", dest="jira_projects",
                        help="Jira project key (repeatable; default SEC)")
    parser.add_argument("--app-token", default=DEFAULT_APP_TOKEN,
                        help="Socket Mode's app-level token (xapp-…)")
    parser.add_argument("--bot-scopes", default=",".join(manifest_bot_scopes()),
                        help="scopes Slack reports for the bot token (default: the manifest's)")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    sandbox = Sandbox(bot_token=args.bot_token, jira_user=args.jira_user,
                      jira_token=args.jira_token,
                      jira_projects=tuple(args.jira_projects or ["SEC"]),
                      host=args.host, port=args.port, app_token=args.app_token,
                      bot_scopes=tuple(sorted({s.strip() for s in args.bot_scopes.split(",")
                                              if s.strip()})))
    with sandbox:
        for label, value in (
            ("url", sandbox.url),
            ("slack_api_url", sandbox.slack_api_url),
            ("jira_url", sandbox.jira_url),
            ("pagerduty_url", sandbox.pagerduty_url),
        ):
            print(f"{label:>14}: {value}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
