"""Which local process sent a request, and killing it without ever hitting the sandbox itself.

The sandbox and its clients share 127.0.0.1, so a request's peer address is the client socket's
local address, and the process holding that socket is the client. psutil rather than reading
/proc/net/tcp and /proc/*/fd by hand: it does exactly that on Linux (IPv4 and IPv6, socket
inodes to pids) and also works on macOS. It is in the dev extra only, so it is imported here on
first use: `irbot demo` on a plain install never injects crashes and never needs it.
"""

from __future__ import annotations

import os
import signal
from types import ModuleType

from sandbox.crash import Client

_DEAD = frozenset({"TIME_WAIT", "CLOSE", "LISTEN", "NONE"})  # psutil.CONN_* values


def require_psutil() -> ModuleType:
    try:
        import psutil
    except ImportError as exc:  # fail when the crash is injected, not when it is due
        raise RuntimeError("crash faults need psutil: pip install 'irbot[demo]'") from exc
    return psutil


def find_client(peer: tuple[str, int], server: tuple[str, int]) -> Client | str:
    """The process holding the client end of the connection peer -> server, or why none can
    be named.

    Costs one scan of every process's sockets (~20 ms here), so callers do it only when needed.
    """
    psutil = require_psutil()
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:  # macOS without root; Linux shows a user their own processes
        return "not allowed to list this machine's sockets"
    # The whole 4-tuple, and live sockets only: the same local port can also appear in an
    # ownerless TIME_WAIT entry of an earlier connection (to an earlier sandbox, say).
    owners = {c.pid for c in connections
              if c.laddr and c.raddr and tuple(c.laddr) == peer and tuple(c.raddr) == server
              and c.status not in _DEAD}
    where = f"{peer[0]}:{peer[1]}"
    if not owners:
        return f"no process holds {where} (the client is gone)"
    pids = sorted(pid for pid in owners if pid is not None)
    if len(pids) < len(owners):
        return f"the socket {where} belongs to a process we may not inspect"
    if len(pids) > 1:  # a socket inherited across fork(): killing one would not close it
        return f"the socket {where} is shared by pids {pids}"
    pid = pids[0]
    try:
        ancestors = frozenset(p.pid for p in psutil.Process(pid).parents())
    except psutil.NoSuchProcess:
        return f"pid {pid} exited before it could be inspected"
    return Client(pid, ancestors)


def refusal(pid: int) -> str | None:
    """Why killing `pid` would hurt the sandbox (its own process or one it runs under), if so."""
    own = os.getpid()
    if pid == own:
        return f"pid {pid} is the sandbox's own process"
    psutil = require_psutil()
    if pid in {p.pid for p in psutil.Process(own).parents()}:
        return f"pid {pid} is an ancestor of the sandbox's process ({own})"
    return None


def kill(pid: int) -> str | None:
    """SIGKILL `pid`: nothing it could run (finally blocks, atexit, Prefect's crash hooks) runs,
    as in a power cut or the OOM killer. Why it failed, if it did."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return f"pid {pid} exited before the kill"
    except PermissionError:
        return f"not allowed to kill pid {pid}"
    return None
