"""The `irbot` command: `serve` and `demo`."""

from __future__ import annotations

import argparse
import os
import sys

from tasks.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = argparse.ArgumentParser(prog="irbot", description="Incident response from Slack.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="run the webhook and all four deployments")
    serve_p.add_argument("--host", default="127.0.0.1")
    serve_p.add_argument("--port", type=int, default=3000)
    sub.add_parser("demo", help="run the whole story locally against the sandbox")
    args = parser.parse_args(argv)

    if args.command == "demo":
        # The demo drives the sandbox, a dev tool the product itself never imports.
        demo = [sys.executable, "-m", "sandbox.demo"]
        os.execv(sys.executable, demo)  # noqa: S606 - our own interpreter, fixed arguments
    try:
        load_settings()  # fail before starting anything, naming what is missing
    except SettingsError as exc:
        print(f"irbot: {exc}", file=sys.stderr)
        return 2
    from webhook.supervisor import serve

    return serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
