"""irbot's worker path as an operator sets it up (README, "Workers instead of `serve`"), on a
Prefect server of its own: the session's server already holds `irbot serve`'s deployments under
the same names, and a worker there would race the runner for their runs.

Not a test module: imported by test_worker_restart.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import yaml

from webhook.local_prefect import (
    api_url,
    free_port,
    prefect_env,
    start_prefect_server,
    stop_process,
    wait_healthy,
)
from webhook.supervisor import webhook_command

REPO = Path(__file__).resolve().parents[2]
_BIN = Path(sys.executable).parent
_CLI_TIMEOUT_SECONDS = 240  # `prefect deploy` imports every flow; slow on a loaded machine


def work_pool_of_prefect_yaml() -> str:
    """The one work pool every deployment in prefect.yaml names."""
    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    pools = {d["work_pool"]["name"] for d in spec["deployments"]}
    assert len(pools) == 1, pools
    return str(pools.pop())


class WorkerStack:
    """Prefect server (SQLite, own home), work pool, `prefect deploy`, heal automation, a
    process worker (restartable) and the webhook alone under uvicorn; logs under `workdir`."""

    def __init__(self, workdir: Path, irbot_env: dict[str, str], pool_limit: int) -> None:
        self.workdir = workdir
        self.pool = work_pool_of_prefect_yaml()
        self.pool_limit = pool_limit
        self._port = free_port()
        self.api_url = api_url(self._port)
        self.env = prefect_env({
            **os.environ, **irbot_env,
            "PREFECT_HOME": str(workdir / "prefect"), "PREFECT_API_URL": self.api_url,
            "PREFECT_LOGGING_LEVEL": "INFO", "PREFECT_WORKER_QUERY_SECONDS": "1",
        })
        self.webhook_url = ""
        self.worker: subprocess.Popen[bytes] | None = None
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []
        self._workers_started = 0

    def start(self) -> None:
        """Everything, in the README's order; on failure, stop what was started."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        start_prefect_server(self.workdir / "prefect", self.env, self._port,
                             spawn=lambda args, env: self._spawn("prefect-server", args, **env))
        self.cli("prefect", "work-pool", "create", self.pool, "--type", "process")
        self.cli("prefect", "work-pool", "set-concurrency-limit", self.pool,
                 str(self.pool_limit))
        self.cli("prefect", "deploy", "--all", "--no-prompt")
        self.cli("python", "-m", "tasks.runs")
        self.start_worker()
        web_port = free_port()
        webhook = self._spawn("webhook", webhook_command("127.0.0.1", web_port, False))
        self.webhook_url = f"http://127.0.0.1:{web_port}"
        wait_healthy(f"{self.webhook_url}/health", 90, webhook)

    def cli(self, program: str, *args: str) -> str:
        """Run an operator's command from the repository root; its output, or fail with it."""
        done = subprocess.run([str(_BIN / program), *args], env=self.env, cwd=REPO,
                              capture_output=True, text=True, timeout=_CLI_TIMEOUT_SECONDS)
        said = f"$ {program} {' '.join(args)}\n{done.stdout}{done.stderr}"
        with open(self.workdir / "cli.log", "a") as log:
            log.write(said + "\n")
        assert done.returncode == 0, said
        return done.stdout

    def start_worker(self) -> None:
        """`prefect worker start --pool <pool>`, healthy once it polls the pool."""
        self._workers_started += 1
        health_port = free_port()
        self.worker = self._spawn(f"worker-{self._workers_started}", [
            str(_BIN / "prefect"), "worker", "start", "--pool", self.pool,
            "--name", f"irbot-worker-{self._workers_started}", "--with-healthcheck"],
            PREFECT_WORKER_WEBSERVER_HOST="127.0.0.1",
            PREFECT_WORKER_WEBSERVER_PORT=str(health_port))
        wait_healthy(f"http://127.0.0.1:{health_port}/health", 90, self.worker)

    def stop_worker(self) -> None:
        """SIGTERM the worker process alone, as `docker stop` and Kubernetes stop PID 1: the
        process worker then ends its flow-run processes itself, without a word to the API."""
        assert self.worker is not None
        self.worker.send_signal(signal.SIGTERM)
        self.worker.wait(60)

    def stop(self) -> None:
        """Newest first: webhook and worker before the server they talk to."""
        for proc in reversed(self._procs):
            stop_process(proc, 30)
        self._procs.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def _spawn(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # closed in stop()
        self._logs.append(log)
        proc = subprocess.Popen(args, env={**self.env, **env}, cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self._procs.append(proc)
        return proc
