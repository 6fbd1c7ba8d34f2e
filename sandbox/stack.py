"""The whole local stack: sandbox, a Prefect server and `irbot serve`, started and stopped in order.

Used by the demo and the benchmarks (the tests build the same pieces as pytest fixtures).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import IO

from sandbox.local import Sandbox
from webhook.supervisor import free_port, port_is_free, prefect_env, stop_process, wait_healthy

SIGNING_SECRET = "sandbox-signing-secret-0123456789"
ROUTING_KEYS = {"engineering": "E" * 32, "database": "D" * 32}


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
    }


class LocalStack:
    """Sandbox + Prefect server + `irbot serve`, with logs under `workdir`."""

    def __init__(self, workdir: Path, archive_delay: int = 8, prefect_port: int = 4200) -> None:
        self.workdir = workdir
        self.archive_delay = archive_delay
        self.sandbox = Sandbox()
        self._prefect_port = prefect_port
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []
        self.prefect_url = ""
        self.webhook_url = ""

    @property
    def pids(self) -> list[int]:
        """The processes started here (Prefect server, `irbot serve`); the rest are theirs."""
        return [proc.pid for proc in self._procs]

    @property
    def serve_log(self) -> Path:
        return self.workdir / "irbot-serve.log"

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
        env = prefect_env(os.environ)
        env["PREFECT_HOME"] = str(self.workdir / "prefect")
        env.pop("PREFECT_API_URL", None)
        port = self._prefect_port if port_is_free(self._prefect_port) else free_port()
        server = self._spawn("prefect-server.log", env, [
            sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
            "--port", str(port)])
        self.prefect_url = f"http://127.0.0.1:{port}"
        wait_healthy(f"{self.prefect_url}/api/health", 120, server)
        env = {**env, **irbot_settings(self.sandbox, self.archive_delay),
               "PREFECT_API_URL": f"{self.prefect_url}/api", "PREFECT_LOGGING_LEVEL": "INFO"}
        web_port = free_port()
        serve = self._spawn("irbot-serve.log", env, [
            str(Path(sys.executable).with_name("irbot")), "serve", "--port", str(web_port)])
        self.webhook_url = f"http://127.0.0.1:{web_port}"
        wait_healthy(f"{self.webhook_url}/health", 120, serve)

    def _spawn(self, log_name: str, env: dict[str, str],
               args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / log_name, "wb")  # closed in stop()
        self._logs.append(log)
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self._procs.append(proc)
        return proc

    def stop(self) -> None:
        """Stop in reverse order: serve (runner before server), Prefect, then the sandbox."""
        for proc in reversed(self._procs):
            stop_process(proc, 30)
        self._procs.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        self.sandbox.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

