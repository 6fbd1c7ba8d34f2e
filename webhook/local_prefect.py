"""A local Prefect server and its environment, and the process helpers that start and stop it.

`irbot serve` starts one when no PREFECT_API_URL is set; the demo, the benchmarks and the tests
start theirs through here too (sandbox/stack.py), so there is one way to do it.
"""

from __future__ import annotations

import compileall
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

STOP_GRACE_SECONDS = 15
# A fresh SQLite database takes ~8 s to migrate on a quiet machine; a busy one much longer.
START_TIMEOUT_SECONDS = 120.0
Spawn = Callable[[list[str], dict[str, str]], "subprocess.Popen[bytes]"]


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_healthy(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None,
                 accept: tuple[int, ...] = (200,)) -> httpx.Response:
    """Poll `url` until it answers with a status in `accept`; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} while starting")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code in accept:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} was not healthy after {timeout:.0f} s")


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def stop_process(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> bool:
    """SIGTERM a child started in its own session, SIGKILL it after `grace` seconds.

    Returns False when it had to be killed.
    """
    if proc.poll() is not None:
        return True
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(grace)
        return True
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait()
        return False


def prefect_env(base: Mapping[str, str], **settings: str) -> dict[str, str]:
    """Environment for Prefect processes: offline-friendly, fast run pick-up; `settings` (e.g.
    PREFECT_HOME, PREFECT_API_URL) override both `base` and these defaults."""
    env = dict(base)
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", "1")
    env.setdefault("PREFECT_UI_ENABLED", "true")
    env.update(settings)
    return env


# Flow runs wait out a busy server longer than the Prefect client's default (5 retries, ~1 min of
# backoff): a SQLite server under a burst can answer "database is locked" (503) for over a
# minute, and a run failed by it is not re-run by anything. 7 retries back off ~4 min in all.
FLOW_CLIENT_RETRIES = "7"


def flow_env(env: Mapping[str, str]) -> dict[str, str]:
    """Environment for the processes that run flows (serve's runner, workers): `env` with
    Prefect's client retries raised, unless the operator chose a number."""
    patient = dict(env)
    patient.setdefault("PREFECT_CLIENT_MAX_RETRIES", FLOW_CLIENT_RETRIES)
    return patient


# What a flow-run process imports of irbot's own.
FLOW_PACKAGES = ("flows", "tasks")


def compile_flow_modules() -> None:
    """Write the bytecode of irbot's flow and task modules, once, before any run starts.

    Every run is a new interpreter. With PYTHONDONTWRITEBYTECODE set (containers, CI) and an
    editable install, nothing ever caches these modules and every run compiles them again
    (measured in bench/burst.py). pip compiles a wheel install itself; then, as on a second
    call, this finds nothing to do. Best effort: a directory we cannot write is left alone.
    """
    for name in FLOW_PACKAGES:
        spec = importlib.util.find_spec(name)
        for directory in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(directory, maxlevels=0, quiet=2)


def api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


@dataclass
class PrefectServer:
    """A running `prefect server start` on loopback."""

    proc: subprocess.Popen[bytes]
    port: int

    @property
    def api_url(self) -> str:
        return api_url(self.port)

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> bool:
        return stop_process(self.proc, grace)


def _spawn_logged(log: Path | None) -> Spawn:
    def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        if log is None:
            return subprocess.Popen(args, env=env, start_new_session=True)
        with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
    return spawn


def start_prefect_server(home: Path, env: Mapping[str, str], port: int = 0, *,
                         any_port: bool = False, log: Path | None = None,
                         spawn: Spawn | None = None,
                         timeout: float = START_TIMEOUT_SECONDS) -> PrefectServer:
    """A SQLite-backed Prefect server under `home`, bound to loopback, healthy when returned.

    `port` 0 picks a free one; with `any_port`, a port already taken is replaced by a free one
    (callers that told Prefect clients the URL beforehand need exactly theirs). Started by
    `spawn` when given (`irbot serve` ties its children to itself), else in a session of its
    own with its output in `log`.
    """
    if not port or (any_port and not port_is_free(port)):
        port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    # Its own URL, not another API's: the server's UI tells browsers to call this one (by
    # default it would name port 4200, whatever port the server has).
    server_env = prefect_env(env, PREFECT_HOME=str(home.resolve()), PREFECT_API_URL=api_url(port))
    # Prefect's own `server start`, its SQLite writes begun IMMEDIATE (webhook/prefect_sqlite.py).
    args = [sys.executable, "-m", "webhook.prefect_sqlite", "server", "start",
            "--host", "127.0.0.1", "--port", str(port)]
    proc = (spawn or _spawn_logged(log))(args, server_env)
    server = PrefectServer(proc, port)
    try:
        wait_healthy(f"{server.api_url}/health", timeout, proc)
    except BaseException:
        server.stop()
        raise
    return server
