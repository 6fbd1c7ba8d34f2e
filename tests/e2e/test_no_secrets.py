"""No token, signing secret, Jira token, routing key or Falcon client secret ever reaches a log
or Prefect's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.driver import SlackDriver, wait_for
from sandbox.stack import ROUTING_KEYS
from tests.conftest import _HOME, SIGNING_SECRET


def test_secrets_stay_out_of_logs_and_prefect(driver: SlackDriver, sandbox: Any,
                                              people: dict[str, str],
                                              incident: dict[str, Any]) -> None:
    ch, alice = incident["channel_id"], people["alice"]
    sandbox.post_message(ch, alice, "something to back up")
    driver.command("backup", alice, ch, incident["name"])
    driver.command("page engineering secrets check", alice, ch, incident["name"])
    driver.command("contain no-such-host-secrets", alice, ch, incident["name"])  # a Falcon token
    wait_for(lambda: any("secrets check" in str(e.get("payload", {}).get("summary"))
                         for e in sandbox.pagerduty_events), timeout=60, what="the page")
    wait_for(lambda: any(str(m.get("text", "")).startswith("Backup saved")
                         for m in sandbox.messages(ch)), timeout=60, what="the backup")
    wait_for(lambda: any("no host named `no-such-host-secrets`" in str(m.get("text", ""))
                         for m in sandbox.messages(ch)), timeout=60, what="the Falcon lookup")

    secrets = [sandbox.bot_token, sandbox.jira_token, SIGNING_SECRET, *ROUTING_KEYS.values(),
               sandbox.falcon_client_secret]
    places = [p for p in [_HOME / "irbot-serve.log", *(_HOME / "prefect").glob("prefect.db*")]
              if p.is_file()]
    assert any(p.name == "irbot-serve.log" for p in places)
    for place in places:
        content = Path(place).read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"a secret leaked into {place.name}"
