"""The `irbot` command: `serve`, `check` and `demo`."""

from __future__ import annotations

import argparse
import os
import sys

from tasks.settings import Settings, SettingsError, load_settings

DEMO_EXTRA = ("python-multipart", "psutil")  # pyproject.toml's `demo` extra (a test checks)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = argparse.ArgumentParser(prog="irbot", description="Incident response from Slack.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="run the webhook and all four deployments")
    serve_p.add_argument("--host", default="127.0.0.1")
    serve_p.add_argument("--port", type=int, default=3000)
    serve_p.add_argument("--socket-mode", action="store_true",
                         help="connect to Slack over a WebSocket (needs SLACK_APP_TOKEN); "
                              "implied when SLACK_APP_TOKEN is set")
    check_p = sub.add_parser("check", help="check settings, credentials, scopes, permissions")
    check_p.add_argument("--socket-mode", action="store_true",
                         help="also require the Socket Mode app token")
    demo_p = sub.add_parser("demo", help="run the whole story locally against the sandbox")
    demo_p.add_argument("--keep", action="store_true",
                        help="leave everything running afterwards, to browse the runs")
    demo_p.add_argument("--socket-mode", action="store_true",
                        help="irbot talks to the sandbox's Slack over Socket Mode")
    args = parser.parse_args(argv)

    if args.command == "demo":
        # The demo drives the sandbox, a dev tool the product itself never imports.
        lacking = _demo_lacks()
        if lacking:
            print(f"irbot: the demo needs {', '.join(lacking)}, which irbot itself does not: "
                  "pip install 'irbot[demo]' (in a clone: pip install -e '.[demo]')",
                  file=sys.stderr)
            return 2
        demo = [sys.executable, "-m", "sandbox.demo"]
        demo += ["--keep"] * args.keep + ["--socket-mode"] * args.socket_mode
        os.execv(sys.executable, demo)  # noqa: S606 - our own interpreter, fixed arguments
    if args.command == "check":
        from webhook.check.run import check_command

        return check_command(os.environ, args.socket_mode)
    try:
        settings = load_settings()  # fail before starting anything, naming what is missing
    except SettingsError as exc:
        print(f"irbot: {exc}", file=sys.stderr)
        return 2
    socket_mode = args.socket_mode or settings.socket_mode
    if not _startup_checks_pass(settings, socket_mode):
        return 2
    from webhook.supervisor import serve

    return serve(args.host, args.port, socket_mode)


def _demo_lacks() -> list[str]:
    """The packages of the `demo` extra that are not installed."""
    from importlib.metadata import PackageNotFoundError, distribution

    lacking = []
    for name in DEMO_EXTRA:
        try:
            distribution(name)
        except PackageNotFoundError:
            lacking.append(name)
    return lacking


def _startup_checks_pass(settings: Settings, socket_mode: bool) -> bool:
    """Print the fast checks; refuse to start on a missing setting or refused credentials.

    A service that does not answer is only a warning: it may be back before the first command.
    """
    from webhook.check.run import startup_checks

    checks = startup_checks(settings, socket_mode)
    for check in checks:
        if not check.passed:
            print(f"irbot: {'error' if check.hard else 'warning'}: {check.line()}",
                  file=sys.stderr, flush=True)
    hard = [c.name for c in checks if c.hard]
    if hard:
        print(f"irbot: not starting: {', '.join(hard)} (run `irbot check` for every check)",
              file=sys.stderr, flush=True)
        return False
    print(f"irbot: start-up checks: {sum(c.passed for c in checks)} of {len(checks)} passed",
          flush=True)
    return True


if __name__ == "__main__":
    sys.exit(main())
