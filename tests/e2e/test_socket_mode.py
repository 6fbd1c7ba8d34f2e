"""Socket Mode end to end: the webhook process connects to the sandbox's Slack over a WebSocket;
commands, the modal and the archive buttons arrive as envelopes and are acked on the socket.

The socket webhook is the one `irbot serve --socket-mode` starts (`webhook_command`), run here
beside the session's `irbot serve`, whose runner executes the flows for both.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.driver import SocketDriver, wait_for
from tasks.messages import ARCHIVE_CANCEL_ACTION
from tests.conftest import _HOME
from tests.e2e.conftest import open_incident
from tests.e2e.support_runs import has_buttons, wait_text
from webhook.local_prefect import free_port, stop_process, wait_healthy
from webhook.supervisor import webhook_command

Start = Callable[..., str]


@pytest.fixture(scope="module")
def start_socket_webhook(irbot_env: dict[str, str], irbot_serve: str,
                         sandbox: Any) -> Iterator[Start]:
    """Start socket webhooks (each with its own settings); all stopped after the module."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(**changes: str) -> str:
        port = free_port()
        env = {**os.environ, **irbot_env, "SLACK_APP_TOKEN": sandbox.app_token, **changes}
        log = open(_HOME / f"socket-webhook-{port}.log", "wb")
        proc = subprocess.Popen(webhook_command("127.0.0.1", port, socket_mode=True), env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()  # the child holds its own descriptor
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(f"{base}/health", 60, proc, accept=(200, 503))
        return base

    yield start
    for proc in procs:
        stop_process(proc, 20)


@pytest.fixture(scope="module")
def socket_webhook(start_socket_webhook: Start) -> str:
    return start_socket_webhook()


@pytest.fixture(scope="module")
def socket_driver(sandbox: Any, socket_webhook: str) -> SocketDriver:
    return SocketDriver(sandbox)


def health(base: str) -> httpx.Response:
    return httpx.get(f"{base}/health", timeout=5)


def wait_connected(sandbox: Any, base: str, opened_before: int = 0) -> dict[str, Any]:
    """Until /health says connected on a connection opened after `opened_before`."""
    def connected() -> dict[str, Any] | None:
        report = health(base)
        live = sandbox.socket_status()
        fresh = live["opened"] > opened_before and any(
            not c["retiring"] for c in live["connections"])
        return report.json() if report.status_code == 200 and fresh else None
    return wait_for(connected, timeout=30, interval=0.2, what="the socket to be connected")


def test_commands_modal_and_button_over_the_socket_across_a_refresh(
        socket_driver: SocketDriver, socket_webhook: str, sandbox: Any,
        people: dict[str, str], security: str) -> None:
    report = wait_connected(sandbox, socket_webhook)
    assert report["mode"] == "socket" and report["socket"]["connected"] is True
    alice, bob = people["alice"], people["bob"]

    # A slash command answered in the ack itself, which travels back over the socket.
    help_reply = socket_driver.command("help", alice, security, "security")
    assert help_reply.status == 200 and "/irbot create" in help_reply.text

    # The modal: opened with the envelope's trigger_id, submitted as an interactive envelope.
    inc = open_incident(socket_driver, sandbox, alice, security, {
        "people": [bob], "title": "Socket Mode incident", "severity": "SEV-3",
        "new_case": True})
    assert sandbox.channel(inc["channel_id"])["name"] == inc["name"]

    # Slack refreshes the connection mid-way; the app reconnects and the next command works.
    opened = sandbox.socket_status()["opened"]
    assert sandbox.socket_disconnect("refresh_requested") >= 1
    wait_connected(sandbox, socket_webhook, opened_before=opened)

    reply = socket_driver.command("archive", alice, inc["channel_id"], inc["name"])
    assert reply.status == 200, reply
    announcement = wait_for(lambda: next((m for m in sandbox.messages(inc["channel_id"])
                                          if has_buttons(m)), None),
                            timeout=45, what="the archive announcement")
    click = socket_driver.click(inc["channel_id"], announcement, ARCHIVE_CANCEL_ACTION, bob)
    assert click.status == 200, click
    wait_text(sandbox, inc["channel_id"], "cancelled by")
    assert not sandbox.channel(inc["channel_id"])["is_archived"]

    after = health(socket_webhook).json()["socket"]
    assert after["connections"] >= 2 and after["last_envelope_at"] is not None


def test_a_dropped_connection_is_reopened(socket_driver: SocketDriver, socket_webhook: str,
                                          sandbox: Any, people: dict[str, str],
                                          security: str) -> None:
    wait_connected(sandbox, socket_webhook)
    opened = sandbox.socket_status()["opened"]
    assert sandbox.socket_drop() >= 1  # no `disconnect` message: the network just fails
    wait_connected(sandbox, socket_webhook, opened_before=opened)
    reply = socket_driver.command("help", people["alice"], security, "security")
    assert reply.status == 200 and "/irbot create" in reply.text


def test_a_silent_socket_is_replaced(start_socket_webhook: Start, sandbox: Any,
                                     socket_webhook: str, people: dict[str, str],
                                     security: str) -> None:
    """Open but delivering nothing (the Bolt issue): after the idle limit, a new connection."""
    # Alone on the sandbox for this test: the module's other webhook must not take envelopes.
    quiet = start_socket_webhook(IRBOT_SOCKET_IDLE_SECONDS="3")
    wait_connected(sandbox, quiet)
    opened = sandbox.socket_status()["opened"]
    assert sandbox.socket_mute()
    wait_connected(sandbox, quiet, opened_before=opened)
    report = health(quiet).json()["socket"]
    assert report["silent_reconnects"] >= 1
    reply = SocketDriver(sandbox).command("help", people["alice"], security, "security")
    assert reply.status == 200 and "/irbot create" in reply.text


def test_health_reports_a_socket_that_cannot_connect(start_socket_webhook: Start,
                                                     tmp_path: Path) -> None:
    base = start_socket_webhook(SLACK_APP_TOKEN="xapp-1-revoked-token")
    answer = health(base)
    assert answer.status_code == 503
    assert answer.json()["socket"]["connected"] is False
    assert answer.json()["socket"]["connected_since"] is None
