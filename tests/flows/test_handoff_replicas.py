"""Webhook replicas share nothing but Prefect, and start together (a deploy restarts them all):
on a new Prefect server they race to register the state block type, and every one starts."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from prefect.settings import PREFECT_API_URL, temporary_settings

from sandbox.stack import private_prefect_env
from webhook.handoff import Handoff
from webhook.local_prefect import start_prefect_server

REPLICAS = 4


async def test_replicas_starting_together_on_a_new_server_all_start(tmp_path: Path) -> None:
    home = tmp_path / "prefect"
    server = start_prefect_server(home, private_prefect_env(os.environ, home),
                                  log=tmp_path / "prefect-server.log")
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            handoffs = [Handoff() for _ in range(REPLICAS)]
            started = await asyncio.gather(*(h.start() for h in handoffs),
                                           return_exceptions=True)
            for handoff in handoffs:
                await handoff.stop()
    finally:
        server.stop()
    assert started == [None] * REPLICAS, started
