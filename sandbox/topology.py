"""`irbot topology` as a subprocess, exactly as an operator runs it, and where its parts
listen: what the scale-out tests and bench/burst.py drive.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from sandbox.driver import wait_for
from sandbox.stack import tail

REPO = Path(__file__).resolve().parents[1]
# PostgreSQL's first migration, `prefect deploy` importing every flow, two workers and two
# webhooks, on 2 cores shared with the rest of the suite.
START_TIMEOUT_SECONDS = 420
STOP_TIMEOUT_SECONDS = 120
_API = re.compile(r"irbot: Prefect server: \S+ \(API (\S+)\)")
_WEBHOOK = re.compile(r"irbot: webhook \d+ listening on (\S+)/slack/events")
_UP = "irbot: up:"


class TopologyProcess:
    """`irbot topology --port 0 --prefect-port 0` in `workdir` (not the checkout: prefect.yaml
    is given by path), its output in workdir/topology.log."""

    def __init__(self, workdir: Path, env: dict[str, str], workers: int = 2,
                 webhooks: int = 2) -> None:
        self.workdir = workdir
        self.env = env
        self.args = [str(Path(sys.executable).with_name("irbot")), "topology", "--port", "0",
                     "--prefect-port", "0", "--workers", str(workers), "--webhooks",
                     str(webhooks), "--prefect-file", str(REPO / "prefect.yaml")]
        self.log = workdir / "topology.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.api_url = ""
        self.webhook_urls: list[str] = []

    def start(self) -> None:
        """Started, and everything up, when this returns."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.args, env=self.env, cwd=self.workdir, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        proc = self.proc
        try:
            wait_for(lambda: proc.poll() is not None or _UP in self.output(),
                     timeout=START_TIMEOUT_SECONDS, interval=0.5, what="irbot topology to be up")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{tail(self.log)}") from exc
        assert proc.poll() is None, f"irbot topology exited:\n{tail(self.log)}"
        said = self.output()
        [self.api_url] = _API.findall(said)
        self.webhook_urls = _WEBHOOK.findall(said)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def processes(self) -> list[psutil.Process]:
        """Every process it started, and theirs."""
        assert self.proc is not None
        return list(psutil.Process(self.proc.pid).children(recursive=True))

    def workers(self) -> list[psutil.Process]:
        """The `prefect worker start` processes still alive."""
        assert self.proc is not None
        return [p for p in alive_only(psutil.Process(self.proc.pid).children())
                if "worker" in cmdline_of(p) and "start" in cmdline_of(p)]

    def stop(self) -> int:
        """SIGTERM, as systemd or Ctrl-C would; its exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def alive_only(procs: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


def cmdline_of(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""
