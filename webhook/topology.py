"""`irbot topology`: irbot laid out as at scale, on this one machine, in one command.

A Prefect server on PostgreSQL, a process work pool with a concurrency limit, prefect.yaml's
deployments, the automations, several workers and several webhook replicas: started in that
order, stopped in reverse by `irbot serve`'s Supervisor, each dying with us. Each process gets
only what it needs (the database URL goes to the Prefect server alone), and the workers run in
directories of their own, away from any checkout: on real hosts, the README's "At scale"
recipe, these are the same commands.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import yaml
from dotenv import dotenv_values

from webhook.local_prefect import (
    compile_flow_modules,
    flow_env,
    free_port,
    prefect_env,
    start_prefect_server,
    wait_healthy,
)
from webhook.ownership import deployment_pools, refusal_for_workers
from webhook.prefect_db import URL_VARIABLES, database_url, describe, ensure_database
from webhook.supervisor import StopRequested, Supervisor, stop_starting, webhook_command

# `prefect deploy` imports every flow; a migration of a fresh database takes a while too.
_CLI_TIMEOUT_SECONDS = 300
_START_TIMEOUT_SECONDS = 180.0


@dataclass(frozen=True)
class Layout:
    """What to start, and where it listens."""

    host: str = "127.0.0.1"
    port: int = 3000  # the first webhook's; the others follow (0: free ports)
    webhooks: int = 2
    workers: int = 2
    prefect_port: int = 4200  # taken: another free one
    run_limit: int = 20
    prefect_file: Path = Path("prefect.yaml")

    def webhook_ports(self) -> list[int]:
        return [self.port + i if self.port else free_port() for i in range(self.webhooks)]


def work_pool_of(prefect_file: Path) -> str:
    """The one work pool every deployment in prefect.yaml names."""
    spec = yaml.safe_load(prefect_file.read_text())
    pools = {str(d["work_pool"]["name"]) for d in spec["deployments"]}
    if len(pools) != 1:
        raise ValueError(f"{prefect_file} names {len(pools)} work pools; irbot uses one")
    return pools.pop()


def with_dotenv(environ: Mapping[str, str]) -> dict[str, str]:
    """Our environment over `.env`'s: the workers run elsewhere and would not find the file."""
    dotenv = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    return {**dotenv, **environ}


def base_env(settings: Mapping[str, str]) -> dict[str, str]:
    """Every child's environment, without the database URL (the Prefect server's alone) or
    another Prefect API (ours is set once it is up)."""
    env = prefect_env(settings)
    for name in (*URL_VARIABLES, "PREFECT_API_URL"):
        env.pop(name, None)
    return env


class Topology:
    """The processes of one layout, under one Supervisor."""

    def __init__(self, layout: Layout, environ: Mapping[str, str]) -> None:
        self.layout = layout
        settings = with_dotenv(environ)
        self.database_url = database_url(settings)
        self.env = base_env(settings)
        self.home = Path(self.env.get("PREFECT_HOME") or Path.home() / ".prefect")
        self.env["PREFECT_HOME"] = str(self.home)
        self.pool = work_pool_of(layout.prefect_file)
        self.supervisor = Supervisor(self.env)

    def run(self) -> int:
        """Start everything, then watch until a stop request or a fatal exit."""
        signal.signal(signal.SIGTERM, stop_starting)
        signal.signal(signal.SIGINT, stop_starting)
        try:
            refused = self.start()
        except StopRequested:
            self.supervisor.stop()
            return 130
        except BaseException:
            self.supervisor.stop()
            raise
        if refused:
            print(f"irbot: not starting: {refused}", file=sys.stderr, flush=True)
            self.supervisor.stop()
            return 2
        return self.supervisor.watch()

    def start(self) -> str | None:
        """Everything in order; a reason not to go on, or None when all is up."""
        began = time.monotonic()
        created = ensure_database(self.database_url)
        say(f"{describe(self.database_url)}{' created' if created else ''}")
        api = self.start_prefect_server()
        refused = refusal_for_workers(deployment_pools(api, self.env))
        if refused:
            return refused
        limit = str(self.layout.run_limit)
        prefect = [sys.executable, "-m", "prefect"]
        run_commands([[*prefect, "work-pool", "create", self.pool, "--type", "process",
                       "--base-job-template", str(self.job_template()), "--overwrite"]],
                     self.env)
        # Independent of each other once the pool exists: side by side, to start sooner.
        run_commands([[*prefect, "work-pool", "set-concurrency-limit", self.pool, limit],
                      [*prefect, "deploy", "--all", "--no-prompt", "--prefect-file",
                       str(self.layout.prefect_file.resolve())],
                      [sys.executable, "-m", "tasks.runs"]], flow_env(self.env))
        say(f"work pool {self.pool!r}: process, {limit} runs at once; "
            f"deployments from {self.layout.prefect_file}")
        compile_flow_modules()
        ready = [self.start_worker(i) for i in range(1, self.layout.workers + 1)]
        ready += [self.start_webhook(i, port)
                  for i, port in enumerate(self.layout.webhook_ports(), start=1)]
        for wait in ready:  # all started at once, each told once healthy
            wait()
        say(f"up: {self.layout.webhooks} webhooks and {self.layout.workers} workers, in "
            f"{time.monotonic() - began:.0f} s; Ctrl-C stops everything")
        return None

    def job_template(self) -> Path:
        """Prefect's process job template, its command this Python's engine: a process worker
        with no command starts each run under a workspace supervisor, a second interpreter
        importing Prefect (~1 CPU-s a run, bench/burst.py). The workers here share this
        interpreter; on real hosts, the README says how to give the pool theirs."""
        from prefect.workers.process import ProcessWorker  # here: only topology needs it

        template = ProcessWorker.get_default_base_job_template()
        template["variables"]["properties"]["command"]["default"] = engine_command()
        path = self.home / "irbot-topology" / "process-job-template.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(template, indent=2))
        return path

    def start_prefect_server(self) -> str:
        server_env = {**self.env, URL_VARIABLES[0]: self.database_url}
        server = start_prefect_server(
            self.home, server_env, self.layout.prefect_port, any_port=True,
            timeout=_START_TIMEOUT_SECONDS,
            spawn=lambda args, env: self.supervisor.start("prefect-server", args, env))
        self.env["PREFECT_API_URL"] = server.api_url
        say(f"Prefect server: {server.ui_url} (API {server.api_url})")
        return server.api_url

    def start_worker(self, number: int) -> Callable[[], None]:
        """`prefect worker start` in a directory of its own: the flows come from the installed
        irbot package (prefect.yaml's module entrypoints), not from a checkout. Returns the
        wait until it polls the pool."""
        name = f"irbot-worker-{number}"
        workdir = self.home / "irbot-topology" / name
        workdir.mkdir(parents=True, exist_ok=True)
        health = free_port()
        env = flow_env(self.env) | {"PREFECT_WORKER_WEBSERVER_HOST": "127.0.0.1",
                                    "PREFECT_WORKER_WEBSERVER_PORT": str(health)}
        env.setdefault("PREFECT_WORKER_QUERY_SECONDS", "1")  # a run starts ~1 s after it is asked
        proc = self.supervisor.start(
            f"worker {number}", [sys.executable, "-m", "prefect", "worker", "start", "--pool",
                                 self.pool, "--name", name, "--with-healthcheck"],
            env=env, cwd=workdir, kind="worker")

        def wait() -> None:
            wait_healthy(f"http://127.0.0.1:{health}/health", _START_TIMEOUT_SECONDS, proc)
            say(f"worker {number} ({name}) polling pool {self.pool!r} from {workdir}")
        return wait

    def start_webhook(self, number: int, port: int) -> Callable[[], None]:
        """A webhook replica; returns the wait until it answers."""
        host = self.layout.host
        proc = self.supervisor.start(f"webhook {number}", webhook_command(host, port, False),
                                     kind="webhook")

        def wait() -> None:
            wait_healthy(f"http://{host}:{port}/health", _START_TIMEOUT_SECONDS, proc)
            say(f"webhook {number} listening on http://{host}:{port}/slack/events")
        return wait


def engine_command() -> str:
    """What a flow-run process runs: Prefect's engine, in this interpreter."""
    return shlex.join([sys.executable, "-m", "prefect.engine"])


def run_commands(commands: list[list[str]], env: dict[str, str]) -> None:
    """Operators' commands, side by side; fail with the output of one that failed."""
    started: list[tuple[list[str], IO[bytes], subprocess.Popen[bytes]]] = []
    try:
        for args in commands:
            log: IO[bytes] = tempfile.TemporaryFile()
            try:
                proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
            except BaseException:
                log.close()
                raise
            started.append((args, log, proc))
        for args, out, proc in started:
            code = proc.wait(_CLI_TIMEOUT_SECONDS)
            out.seek(0)
            said = out.read().decode(errors="replace")
            if code != 0:
                raise RuntimeError(f"{' '.join(args[1:])} failed ({code}):\n{said}")
    finally:
        for _, out, proc in started:
            if proc.poll() is None:  # stopped while starting, or another one failed
                proc.kill()
                proc.wait()
            out.close()


def say(line: str) -> None:
    print(f"irbot: {line}", flush=True)
