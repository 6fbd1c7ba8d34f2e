from __future__ import annotations
import asyncio
from typing import Any
import pytest
from webhook.handoff import resume_archive
from tests.e2e.support_runs import wait_final, wait_state, message_at
from tests.e2e.test_archive_wait import start_archive, run_id_of
from sandbox.driver import wait_for


@pytest.mark.parametrize("n", range(4))
def test_direct(driver, sandbox: Any, people, incident, n) -> None:
    ch = incident["channel_id"]
    msg = start_archive(driver, sandbox, people["alice"], incident)
    rid = run_id_of(msg)
    wait_state(rid, {"PAUSED"}, 20)
    async def both():
        return await asyncio.gather(resume_archive(rid, "cancel", people["bob"]),
                                    resume_archive(rid, "cancel", people["carol"]))
    out = asyncio.run(both())
    wait_for(lambda: "cancelled by" in message_at(sandbox, ch, msg["ts"])["text"], 30)
    print("OUT", out, message_at(sandbox, ch, msg["ts"])["text"], wait_final(rid))
