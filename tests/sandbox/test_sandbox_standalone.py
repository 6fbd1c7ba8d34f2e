"""`python -m sandbox`: the emulators in a process of their own, until SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def test_module_runs_standalone_until_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(": ", 1)[1].strip()
        slack_api = proc.stdout.readline().split(": ", 1)[1].strip()
        assert slack_api == f"{url}/slack/api/"
        answer = httpx.post(slack_api + "auth.test",
                            headers={"Authorization": "Bearer xoxb-sandbox-token"})
        assert answer.json()["ok"] is True
        assert "chat:write" in answer.headers["x-oauth-scopes"].split(",")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
