"""`/irbot create` end to end: modal → flow → Jira, channels, invitations, state."""

from __future__ import annotations

import time
from typing import Any

from sandbox.driver import SlackDriver, form_values, wait_for


def open_form(driver: SlackDriver, user: str, channel: str) -> dict[str, Any]:
    reply = driver.command("create", user, channel, "security")
    assert reply.status == 200
    return driver.opened_view(reply.trigger_id)


def test_create_new_case_end_to_end(driver: SlackDriver, sandbox: Any, people: dict[str, str],
                                    security: str) -> None:
    view = open_form(driver, people["alice"], security)
    values = form_values(view, {"people": [people["bob"], people["dave"]], "title": "Phishing wave",
                                "severity": "SEV-2", "new_case": True, "exec_channel": True,
                                "exec_people": [people["carol"]]})
    submitted = time.monotonic()
    reply = driver.submit(view, values, people["alice"])
    assert reply.status == 200 and reply.body in ("", {})

    issue = wait_for(lambda: next((i for i in sandbox.jira_issues()
                                   if i["summary"] == "Phishing wave"), None), what="jira issue")
    name = f"incident_channel_{issue['key'].lower()}"
    channel = wait_for(lambda: sandbox.channel_by_name(name), what="channel")
    wait_for(lambda: issue["key"] in (sandbox.channel(channel["id"])["topic"] or ""), what="topic")
    print(f"channel ready after {time.monotonic() - submitted:.2f} s")
    ready = wait_for(lambda: [e for e in sandbox.ephemerals
                              if f"Incident {issue['key']} is ready: <#" in e["text"]],
                     what="ready message")
    assert people["alice"] == ready[0]["user"]
    channel = sandbox.channel(channel["id"])
    assert people["alice"] in channel["members"] and people["bob"] in channel["members"]
    assert people["dave"] not in channel["members"]
    assert "deactivated" in ready[0]["text"] or "inactive" in ready[0]["text"]
    exec_ch = sandbox.channel_by_name(name + "_exec")
    assert exec_ch and people["carol"] in exec_ch["members"]
    comments = sandbox.jira_issue(issue["key"])["comments"]
    assert any(name in c and name + "_exec" in c for c in comments)
