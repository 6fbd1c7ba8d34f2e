"""The `irbot` command: `serve`, `topology`, `check` and `demo`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

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
    topo_p = sub.add_parser(
        "topology", help="irbot as at scale, on this machine: Prefect on PostgreSQL, workers, "
                         "webhook replicas (database from PREFECT_API_DATABASE_CONNECTION_URL)")
    topo_p.add_argument("--host", default="127.0.0.1", help="where the webhooks listen")
    topo_p.add_argument("--port", type=int, default=3000,
                        help="the first webhook's port; the others follow (0: free ports)")
    topo_p.add_argument("--webhooks", type=_count, default=2, help="webhook replicas")
    topo_p.add_argument("--workers", type=_count, default=2, help="Prefect process workers")
    topo_p.add_argument("--prefect-port", type=int, default=None,
                        help="the Prefect server's port (default IRBOT_PREFECT_PORT, 4200; "
                             "another free one if taken)")
    topo_p.add_argument("--prefect-file", type=Path, default=Path("prefect.yaml"),
                        help="the deployments to deploy (default ./prefect.yaml)")
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
    if args.command == "topology":
        return _topology(args, settings)
    socket_mode = args.socket_mode or settings.socket_mode
    if not _startup_checks_pass(settings, socket_mode):
        return 2
    from webhook.supervisor import serve

    return serve(args.host, args.port, socket_mode)


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def _topology(args: argparse.Namespace, settings: Settings) -> int:
    """`irbot topology`: refuse early on a missing prefect.yaml or a database that is not
    PostgreSQL, then the start-up checks, then everything."""
    from webhook.prefect_db import DatabaseError
    from webhook.topology import Layout, Topology

    if not args.prefect_file.is_file():
        print(f"irbot: no {args.prefect_file} here: run from irbot's checkout, or give "
              "--prefect-file", file=sys.stderr)
        return 2
    layout = Layout(host=args.host, port=args.port, webhooks=args.webhooks,
                    workers=args.workers, run_limit=settings.IRBOT_RUN_LIMIT,
                    prefect_port=settings.IRBOT_PREFECT_PORT if args.prefect_port is None
                    else args.prefect_port, prefect_file=args.prefect_file)
    try:
        topology = Topology(layout, os.environ)
    except DatabaseError as exc:
        print(f"irbot: {exc}", file=sys.stderr)
        return 2
    if not _startup_checks_pass(settings, socket_mode=False):
        return 2
    try:
        return topology.run()
    except DatabaseError as exc:
        print(f"irbot: not starting: {exc}", file=sys.stderr)
        return 2


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
