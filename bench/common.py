"""What both benchmarks share: a private Prefect server, irbot's settings, machine info, JSON.

Nothing here imports prefect: Prefect reads its settings (PREFECT_API_URL above all) once, at
import, so the callers set the environment first and import prefect-using modules afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.local import Sandbox
from sandbox.stack import irbot_settings
from webhook.local_prefect import (
    api_url,
    free_port,
    prefect_env,
    start_prefect_server,
    stop_process,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
# A fresh SQLite database takes ~8 s to migrate on a quiet machine; a busy one can take much more.
PREFECT_START_TIMEOUT = 90.0
STOP_GRACE_SECONDS = 15.0


@dataclass
class Workdir:
    """A private temp dir for one benchmark run: Prefect home, server logs."""

    path: Path

    def log(self, name: str) -> Path:
        return self.path / f"{name}.log"


@contextmanager
def workdir(prefix: str) -> Iterator[Workdir]:
    """Removed afterwards unless the run failed (then the logs are what you want to read)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    ok = False
    try:
        yield Workdir(path)
        ok = True
    finally:
        if ok:
            shutil.rmtree(path, ignore_errors=True)
        else:
            print(f"bench: logs kept in {path}", file=sys.stderr)


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A child in its own session, so stopping it also stops anything it started."""
    with open(log, "ab") as out:
        return subprocess.Popen(args, env=env, cwd=REPO_ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's process group (only ever one we started), then SIGKILL if it hangs."""
    stop_process(proc, STOP_GRACE_SECONDS)


def set_prefect_env(work: Workdir) -> str:
    """Point this process (and its children, which inherit os.environ) at a private server.

    Must run before anything imports prefect. Returns the API URL.
    """
    api = api_url(free_port())
    os.environ.update(prefect_env({}, **{
        "PREFECT_HOME": str(work.path / "prefect"),
        "PREFECT_API_URL": api,
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
        # The UI is not needed and its static build costs start-up time.
        "PREFECT_UI_ENABLED": "false",
    }))
    return api


@contextmanager
def prefect_server(work: Workdir) -> Iterator[subprocess.Popen[bytes]]:
    """`prefect server start` on loopback, as `irbot serve` and the tests start it, on the port
    set_prefect_env chose; yields the process."""
    port = int(os.environ["PREFECT_API_URL"].rsplit(":", 1)[1].split("/", 1)[0])
    server = start_prefect_server(Path(os.environ["PREFECT_HOME"]), os.environ, port,
                                  log=work.log("prefect-server"), timeout=PREFECT_START_TIMEOUT)
    try:
        # Only now: registering the block type imports prefect, which must see the URL above.
        from tasks.state import register_block_type

        register_block_type()
        yield server.proc
    finally:
        stop(server.proc)


def irbot_env(sb: Any, api: str) -> dict[str, str]:
    """irbot's settings pointing at the sandbox and the private Prefect server."""
    return {**os.environ, **irbot_settings(sb, archive_delay=3600), "PREFECT_API_URL": api}


@contextmanager
def backup_stack(work: Workdir,
                 users: int) -> Iterator[tuple[Sandbox, dict[str, str], int, list[str]]]:
    """What the backup benchmarks run flows on: (the sandbox with `users` people, irbot's
    settings for a flow process, the private Prefect server's pid, the people's ids)."""
    api = set_prefect_env(work)
    with Sandbox() as sb, prefect_server(work) as prefect:
        people = [sb.add_user(f"responder{i:03d}", f"Responder {i}") for i in range(users)]
        yield sb, irbot_env(sb, api), prefect.pid, people


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc; NaN elsewhere).

    CPU per request is steadier than latency on a shared machine: other people's load delays
    our requests but does not make them cost more cycles.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (no interpolation: p99 of 1000
    samples is the 990th value, a latency somebody actually saw)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def machine_info() -> dict[str, Any]:
    """Enough to judge whether two result files are comparable."""
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        # Other work on the machine shows up here: the figures are only as quiet as this.
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    data["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table: first column left-aligned, the rest right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)
