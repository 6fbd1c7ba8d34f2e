"""`irbot serve`: a local Prefect server (if needed), the flow runner and the webhook."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from tasks.deployments import PAGE
from tasks.settings import get_settings
from webhook.local_prefect import (
    STOP_GRACE_SECONDS,
    compile_flow_modules,
    flow_env,
    prefect_env,
    start_prefect_server,
    stop_process,
    wait_healthy,
)
from webhook.ownership import deployment_pools, refusal_for_serve

LAST_DEPLOYMENT = PAGE  # flows.runner registers this one last


def webhook_command(host: str, port: int, socket_mode: bool) -> list[str]:
    """The webhook process: Slack's requests over HTTP, or over a socket (HTTP: /health only)."""
    factory = "webhook.socket_mode:create_socket_api" if socket_mode else "webhook.app:create_api"
    return [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", host,
            "--port", str(port), "--no-access-log", "--log-level", "warning"]


# Socket Mode's /health is 503 until the socket is up; Slack being slow to answer is a warning,
# not a reason to stop (the client keeps trying).
_SOCKET_CONNECT_WAIT_SECONDS = 15


@dataclass
class Supervisor:
    """Starts children in order and stops them in reverse (runner before server)."""

    env: dict[str, str]
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    stopping: bool = False
    # Children that are one of several alike (`irbot topology`'s workers and webhook replicas,
    # as on hosts of their own): one may die while another of its kind goes on.
    kinds: dict[str, str] = field(default_factory=dict)

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None,
              cwd: Path | None = None, kind: str | None = None) -> subprocess.Popen[bytes]:
        # A session of its own (a Ctrl-C reaches us, and we stop children in order), and
        # killed with us: if `irbot serve` is SIGKILLed, no child may live on holding a port.
        proc = subprocess.Popen(args, env=self.env if env is None else env, cwd=cwd,
                                start_new_session=True, preexec_fn=die_with_parent)
        self.children.append((name, proc))
        if kind is not None:
            self.kinds[name] = kind
        return proc

    def start_prefect_server(self, home: Path, port: int) -> str:
        """A local SQLite-backed Prefect server bound to loopback (another port if taken)."""
        self.env.setdefault("PREFECT_HOME", str(home))
        server = start_prefect_server(
            home, self.env, port, any_port=True, timeout=90,
            spawn=lambda args, env: self.start("prefect-server", args, env))
        self.env["PREFECT_API_URL"] = server.api_url
        return server.api_url

    def stop(self) -> None:
        """Stop children newest first; each gets a grace period, then is killed."""
        self.stopping = True
        for name, proc in reversed(self.children):
            if name == "runner":
                crash_flow_runs(proc)
            if not stop_process(proc):
                print(f"irbot: {name} did not stop in time and was killed", file=sys.stderr)

    def watch(self) -> int:
        """Block until a child exits or we are told to stop; then stop everything."""
        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        code = 0
        while not self.stopping:
            for name, proc in list(self.children):
                if proc.poll() is None:
                    continue
                print(f"irbot: {name} exited with {proc.returncode}", file=sys.stderr,
                      flush=True)
                if self._others_of_kind_alive(name):
                    self.children.remove((name, proc))
                    print(f"irbot: going on without {name}: another "
                          f"{self.kinds[name]} is running", file=sys.stderr, flush=True)
                    continue
                code = proc.returncode or 1
                self.stopping = True
            time.sleep(0.2)
        self.stop()
        return code

    def _others_of_kind_alive(self, name: str) -> bool:
        kind = self.kinds.get(name)
        return kind is not None and any(
            self.kinds.get(other) == kind and other != name and proc.poll() is None
            for other, proc in self.children)


def group_members(pgid: int) -> list[int]:
    """Processes of a process group other than its leader (Linux /proc; empty elsewhere)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == pgid:
            continue
        try:
            # Fields after the parenthesised command name: state ppid pgrp ...
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def crash_flow_runs(runner: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> None:
    """Stop the runner's flow-run processes before the runner itself.

    On SIGTERM Prefect's runner marks every run in flight Cancelled ("Runner is shutting
    down"), which would lose them. A flow-run process that gets SIGTERM itself ends Crashed
    instead, and the heal automation re-runs it once irbot is back (tasks/runs.py).
    """
    if runner.poll() is not None:
        return
    pids = group_members(runner.pid)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if Path(f"/proc/{pid}").exists()
                and "Z" not in _proc_state(pid)]
        time.sleep(0.1)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "X"


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent() -> None:
    """In a child before exec: ask Linux to SIGKILL it when its parent dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class StopRequested(BaseException):
    """SIGTERM/SIGINT arrived while we were still starting children (a BaseException, like
    KeyboardInterrupt, so that no library's `except Exception` swallows it)."""


def stop_starting(signum: int, frame: FrameType | None) -> None:
    raise StopRequested(signal.Signals(signum).name)


def _wait_socket(health: str, webhook: subprocess.Popen[bytes]) -> None:
    wait_healthy(health, 60, webhook, accept=(200, 503))  # the process is up
    try:
        wait_healthy(health, _SOCKET_CONNECT_WAIT_SECONDS, webhook)
        print(f"irbot: connected to Slack in Socket Mode; health at {health}", flush=True)
    except RuntimeError:
        if webhook.poll() is not None:
            raise
        print(f"irbot: warning: Socket Mode is not connected yet (still trying); watch {health}",
              file=sys.stderr, flush=True)


def serve(host: str, port: int, socket_mode: bool = False) -> int:
    """Run everything `irbot serve` promises; returns the exit code."""
    supervisor = Supervisor(prefect_env(os.environ))
    # From the first child on, a stop request must stop every child already started.
    signal.signal(signal.SIGTERM, stop_starting)
    signal.signal(signal.SIGINT, stop_starting)
    try:
        if not supervisor.env.get("PREFECT_API_URL"):
            home = Path(supervisor.env.get("PREFECT_HOME") or Path.home() / ".prefect")
            api = supervisor.start_prefect_server(home, get_settings().IRBOT_PREFECT_PORT)
            print(f"irbot: started a local Prefect server: {api.removesuffix('/api')}", flush=True)
        refusal = refusal_for_serve(deployment_pools(supervisor.env["PREFECT_API_URL"],
                                                     supervisor.env))
        if refusal:
            print(f"irbot: not starting: {refusal}", file=sys.stderr, flush=True)
            supervisor.stop()
            return 2
        compile_flow_modules()
        runner = supervisor.start("runner", [sys.executable, "-m", "flows.runner"],
                                  env=flow_env(supervisor.env))
        # The webhook is useless until the runner has registered every deployment.
        api = supervisor.env["PREFECT_API_URL"].rstrip("/")
        wait_healthy(f"{api}/deployments/name/{LAST_DEPLOYMENT}", 120, runner)
        webhook = supervisor.start("webhook", webhook_command(host, port, socket_mode))
        health = f"http://{host}:{port}/health"
        if socket_mode:
            _wait_socket(health, webhook)
        else:
            wait_healthy(health, 60, webhook)
            print(f"irbot: webhook listening on http://{host}:{port}/slack/events", flush=True)
    except StopRequested:
        supervisor.stop()
        return 130
    except BaseException:
        supervisor.stop()
        raise
    return supervisor.watch()
