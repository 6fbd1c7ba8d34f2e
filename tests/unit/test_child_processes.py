"""`irbot serve`'s children: they die with it, and flow runs are stopped before the runner."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil

from webhook.supervisor import crash_flow_runs, group_members

# A group leader (like the runner) that starts a child in its own group (like a flow run).
_LEADER = ("import subprocess, sys, time\n"
           "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
           "time.sleep(60)\n")
# A parent (like `irbot serve`) whose child asked to die with it; prints the child's pid.
_PARENT = ("import subprocess, sys, time\n"
           "from webhook.supervisor import die_with_parent\n"
           "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
           " preexec_fn=die_with_parent)\n"
           "print(p.pid, flush=True)\n"
           "time.sleep(60)\n")


def _wait_for(check: object, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_flow_runs_are_stopped_and_the_runner_is_not() -> None:
    leader = subprocess.Popen([sys.executable, "-c", _LEADER], start_new_session=True)
    try:
        assert _wait_for(lambda: group_members(leader.pid))
        [member] = group_members(leader.pid)
        crash_flow_runs(leader, grace=10)
        assert not psutil.pid_exists(member) or psutil.Process(member).status() == "zombie"
        assert leader.poll() is None  # the runner itself is stopped afterwards, by its caller
    finally:
        leader.kill()
        leader.wait()


def test_a_child_dies_with_its_parent() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert psutil.pid_exists(child)
    parent.kill()  # SIGKILL: the parent gets no chance to stop its child itself
    parent.wait()
    assert _wait_for(lambda: not psutil.pid_exists(child)
                     or psutil.Process(child).status() == "zombie")


def test_one_of_several_alike_may_die_and_the_last_one_stops_everything() -> None:
    """`irbot topology`'s workers (and webhooks) are replicas: losing one is not fatal."""
    import threading

    from webhook.supervisor import Supervisor

    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    supervisor = Supervisor({})
    server = supervisor.start("server", sleeper)
    first = supervisor.start("worker 1", sleeper, kind="worker")
    second = supervisor.start("worker 2", sleeper, kind="worker")
    seen: dict[str, bool] = {}

    def kill_them() -> None:
        first.kill()
        time.sleep(1)  # five rounds of the watch
        seen["going on"] = not supervisor.stopping and server.poll() is None
        second.kill()

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    killer = threading.Thread(target=kill_them)
    killer.start()
    try:
        code = supervisor.watch()
        server_stopped = server.poll() is not None
    finally:
        killer.join()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)  # watch() took them over for the supervisor
        for proc in (server, first, second):
            proc.kill()
            proc.wait()
    assert seen["going on"]
    assert code == -9 and server_stopped
