"""The whole local stack: sandbox, a Prefect server and `irbot serve`, started and stopped in order.

The demo, the benchmarks and the tests build on these pieces; the Prefect server itself is
started as `irbot serve` starts one (webhook/local_prefect.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from sandbox.local import Sandbox
from tasks.slack_scopes import BOT_SCOPES
from webhook.local_prefect import (
    PrefectServer,
    free_port,
    prefect_env,
    start_prefect_server,
    stop_process,
    wait_healthy,
)

SIGNING_SECRET = "sandbox-signing-secret-0123456789"
ROUTING_KEYS = {"engineering": "E" * 32, "database": "D" * 32}
# The Slack user group allowed to confirm containment (tests seed its members; the demo's
# commander confirms, so it may stay empty there).
CONTAIN_GROUP = "S0CONTAIN01"
STARTUP_SECONDS = 120.0
STOP_GRACE_SECONDS = 30.0


def irbot_settings(sb: Sandbox, archive_delay: int,
                   signing_secret: str = SIGNING_SECRET) -> dict[str, str]:
    """irbot's settings, every one pointed at the sandbox (the demo, benchmarks and tests)."""
    return {
        "SLACK_BOT_TOKEN": sb.bot_token,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": sb.slack_api_url,
        "JIRA_URL": sb.jira_url,
        "JIRA_USER": sb.jira_user,
        "JIRA_API_TOKEN": sb.jira_token,
        "JIRA_PROJECT": "SEC",
        "PAGERDUTY_EVENTS_URL": sb.pagerduty_url,
        "PAGERDUTY_ROUTING_KEYS": json.dumps(ROUTING_KEYS),
        "IRBOT_ARCHIVE_DELAY_SECONDS": str(archive_delay),
        # No schedule: tests and benchmarks count every call, and a scheduled run would add
        # its own. Automatic backups are tested by running their flow directly.
        "IRBOT_AUTO_BACKUP_MINUTES": "0",
        "FALCON_CLIENT_ID": sb.falcon_client_id,
        "FALCON_CLIENT_SECRET": sb.falcon_client_secret,
        "FALCON_BASE_URL": sb.falcon_url,
        "IRBOT_CONTAIN_ALLOWED": CONTAIN_GROUP,
    }


def private_prefect_env(base: Mapping[str, str], home: Path) -> dict[str, str]:
    """Prefect's environment for a server of our own: a developer's Prefect settings (another
    API, database or profile) must not leak in, since this server and its data are ours."""
    env = {k: v for k, v in base.items() if k not in (
        "PREFECT_API_URL", "PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_PROFILE")}
    return prefect_env(env, PREFECT_HOME=str(home.resolve()))


def tail(log: Path, lines: int = 40) -> str:
    """The last lines of a log, to show why something did not start."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class ServeProcess:
    """`irbot serve` as a subprocess, exactly as an operator runs it, and restartable like one
    (a deploy, a crash): the same port, the same log file (appended)."""

    def __init__(self, env: dict[str, str], log_path: Path, socket_mode: bool = False,
                 port: int = 0, timeout: float = STARTUP_SECONDS) -> None:
        self.env = env
        self.timeout = timeout
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.socket_mode = socket_mode
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, **overrides: str) -> None:
        """Start it (settings in `overrides` replace env's); healthy (in Socket Mode:
        connected) when this returns."""
        irbot = Path(sys.executable).with_name("irbot")
        args = [str(irbot), "serve", "--port", str(self.port)] + ["--socket-mode"] * (
            self.socket_mode)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, env={**self.env, **overrides}, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        wait_healthy(f"{self.base}/health", self.timeout, self.proc)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc is not None else None

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        if self.proc is not None:
            stop_process(self.proc, grace)

    def kill(self) -> None:
        """SIGKILL `irbot serve` alone (not its process group), as the OOM killer would."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()


class LocalStack:
    """Sandbox + Prefect server + `irbot serve`, with logs under `workdir` (emptied first)."""

    def __init__(self, workdir: Path, archive_delay: int = 8, prefect_port: int = 4200,
                 socket_mode: bool = False) -> None:
        self.workdir = workdir
        self.archive_delay = archive_delay
        # irbot's scopes passed in: an installed wheel has no manifest for the sandbox to read.
        self.sandbox = Sandbox(bot_scopes=BOT_SCOPES)
        self.socket_mode = socket_mode
        self._prefect_port = prefect_port
        self.prefect: PrefectServer | None = None
        self.serve: ServeProcess | None = None

    @property
    def prefect_home(self) -> Path:
        return self.workdir / "prefect"

    @property
    def prefect_log(self) -> Path:
        return self.workdir / "prefect-server.log"

    @property
    def serve_pid(self) -> int | None:
        """`irbot serve`'s process (its runner's flow runs are its grandchildren)."""
        return self.serve.proc.pid if self.serve and self.serve.proc else None

    @property
    def pids(self) -> list[int]:
        """The processes started here (Prefect server, `irbot serve`); the rest are theirs."""
        procs = [self.prefect.proc if self.prefect else None,
                 self.serve.proc if self.serve else None]
        return [proc.pid for proc in procs if proc is not None]

    @property
    def serve_log(self) -> Path:
        return self.workdir / "irbot-serve.log"

    @property
    def prefect_url(self) -> str:
        return self.prefect.ui_url if self.prefect else ""

    @property
    def webhook_url(self) -> str:
        return self.serve.base if self.serve else ""

    def start(self) -> LocalStack:
        """Start everything; on failure, stop what was started."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True)
        self.sandbox.start()
        env = private_prefect_env(os.environ, self.prefect_home)
        self.prefect = start_prefect_server(self.prefect_home, env, self._prefect_port,
                                            any_port=True, log=self.prefect_log)
        env |= {**irbot_settings(self.sandbox, self.archive_delay),
                "PREFECT_API_URL": self.prefect.api_url, "PREFECT_LOGGING_LEVEL": "INFO"}
        if self.socket_mode:
            env["SLACK_APP_TOKEN"] = self.sandbox.app_token
        self.serve = ServeProcess(env, self.serve_log, self.socket_mode)
        self.serve.start()

    def newest_log(self) -> Path:
        """The log of the last thing started: where a failed start says why."""
        return self.serve_log if self.serve is not None else self.prefect_log

    def stop(self) -> None:
        """Stop in reverse order: serve (runner before server), Prefect, then the sandbox."""
        if self.serve is not None:
            self.serve.stop()
        if self.prefect is not None:
            self.prefect.stop(STOP_GRACE_SECONDS)
        self.sandbox.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
