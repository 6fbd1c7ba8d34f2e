"""The webhook's gate, through `irbot serve`: signatures, modal validation, double submits,
help, and `/irbot backup` where there is no incident. Nothing refused may start anything."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox.driver import SlackDriver, form_values, wait_for
from sandbox.signing import sign, slash_command_body, view_submission_body
from tasks.deployments import BACKUP
from tests.conftest import SIGNING_SECRET
from tests.support import VECTOR_BODY, VECTOR_SECRET, VECTOR_TS

FORM = "application/x-www-form-urlencoded"


def flow_runs(idempotency_key: str | None = None, deployment: str | None = None) -> list[Any]:
    """Runs on the session's Prefect API, by idempotency key or by deployment name."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterIdempotencyKey,
    )

    run_filter = FlowRunFilter(idempotency_key=FlowRunFilterIdempotencyKey(
        any_=[idempotency_key])) if idempotency_key else None
    dep_filter = DeploymentFilter(name=DeploymentFilterName(any_=[deployment])) \
        if deployment else None
    with get_client(sync_client=True) as client:
        return list(client.read_flow_runs(flow_run_filter=run_filter,
                                          deployment_filter=dep_filter))


def create_command(sandbox: Any, user: str, channel: str) -> tuple[str, str]:
    """A `/irbot create` body, as Slack would send it, and its trigger id."""
    trigger = sandbox.new_trigger_id()
    body = slash_command_body(text="create", user_id=user, user_name=user, channel_id=channel,
                              channel_name="security", team_id=sandbox.team_id,
                              response_url=sandbox.response_url(), trigger_id=trigger)
    return body, trigger


def views_opened(sandbox: Any, trigger: str) -> list[Any]:
    return [r for r in sandbox.requests("slack", "views.open")
            if r.params.get("trigger_id") == trigger]


def open_form(driver: SlackDriver, user: str, channel: str) -> dict[str, Any]:
    reply = driver.command("create", user, channel, "security")
    assert reply.status == 200, reply
    return driver.opened_view(reply.trigger_id)


def title() -> str:
    return f"Guard test {uuid.uuid4().hex[:8]}"


# --- signatures ---------------------------------------------------------------------------


def _bad_headers(case: str, body: str) -> dict[str, Any]:
    now = int(time.time())
    good = sign(SIGNING_SECRET, body)
    if case == "wrong secret":
        return sign("not-the-signing-secret", body)
    if case == "other body":
        return {**sign(SIGNING_SECRET, body + "&text=backup"), "Content-Type": FORM}
    if case == "tampered signature":
        sig = good["X-Slack-Signature"]
        return {**good, "X-Slack-Signature": sig[:-1] + ("0" if sig[-1] != "0" else "1")}
    if case == "stale":
        return sign(SIGNING_SECRET, body, timestamp=now - 310)
    if case == "future":
        return sign(SIGNING_SECRET, body, timestamp=now + 310)
    if case == "garbage timestamp":
        return {**good, "X-Slack-Request-Timestamp": "yesterday"}
    if case == "non-ascii signature":
        return {**good, "X-Slack-Signature": "v0=\u00e9t\u00e9".encode()}
    if case == "no signature":
        return {k: v for k, v in good.items() if k != "X-Slack-Signature"}
    if case == "no timestamp":
        return {k: v for k, v in good.items() if k != "X-Slack-Request-Timestamp"}
    assert case == "no headers"
    return {"Content-Type": FORM}


def _refuse_then_accept(driver: SlackDriver, sandbox: Any, user: str, channel: str,
                        case: str) -> int:
    """Send `/irbot create` with bad headers, then properly signed; the status of the first."""
    body, trigger = create_command(sandbox, user, channel)
    refused = driver.post(body, headers=_bad_headers(case, body))
    # The same request, properly signed, opens the form: proof the refusal was the signature's.
    accepted = driver.post(body)
    assert accepted.status_code == 200
    driver.opened_view(trigger)
    time.sleep(0.3)
    assert len(views_opened(sandbox, trigger)) == 1  # the refused copy opened nothing
    return refused.status_code


@pytest.mark.parametrize("case", ["wrong secret", "other body", "tampered signature", "stale",
                                  "future", "no signature", "no timestamp", "no headers"])
def test_unverified_request_is_refused_and_starts_nothing(
        driver: SlackDriver, sandbox: Any, people: dict[str, str], security: str,
        case: str) -> None:
    assert _refuse_then_accept(driver, sandbox, people["alice"], security, case) == 401


MALFORMED = ["garbage timestamp", "non-ascii signature"]


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_signature_headers_start_nothing(
        driver: SlackDriver, sandbox: Any, people: dict[str, str], security: str,
        case: str) -> None:
    assert _refuse_then_accept(driver, sandbox, people["alice"], security, case) >= 400


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_signature_headers_get_401(driver: SlackDriver, sandbox: Any,
                                             people: dict[str, str], security: str,
                                             case: str) -> None:
    body, _ = create_command(sandbox, people["alice"], security)
    assert driver.post(body, headers=_bad_headers(case, body)).status_code == 401


def test_slacks_own_vector_is_refused_by_our_webhook(driver: SlackDriver) -> None:
    """Signed with another app's secret, long ago: refused, whatever it says."""
    headers = {**sign(VECTOR_SECRET, VECTOR_BODY, timestamp=VECTOR_TS), "Content-Type": FORM}
    assert driver.post(VECTOR_BODY, headers=headers).status_code == 401


def new_case_submission(driver: SlackDriver, sandbox: Any, people: dict[str, str],
                        security: str) -> tuple[dict[str, Any], str, str]:
    """Alice's filled-in form for a new case: the view, its unique title, the submit body."""
    view = open_form(driver, people["alice"], security)
    name = title()
    body = view_submission_body(
        view=view, values=form_values(view, {"people": [people["bob"]], "title": name,
                                             "new_case": True}),
        user_id=people["alice"], user_name="alice", team_id=sandbox.team_id)
    return view, name, body


def test_unverified_modal_submit_starts_no_incident(driver: SlackDriver, sandbox: Any,
                                                   people: dict[str, str],
                                                   security: str) -> None:
    view, name, body = new_case_submission(driver, sandbox, people, security)
    for case in ("wrong secret", "stale", "no headers"):
        assert driver.post(body, headers=_bad_headers(case, body)).status_code == 401
    time.sleep(1.0)
    assert flow_runs(f"create-{view['id']}") == []
    assert not [i for i in sandbox.jira_issues() if i["summary"] == name]


# --- modal validation ---------------------------------------------------------------------


@pytest.mark.parametrize(("fill", "block_id"), [
    ({"title": "t"}, "case_key"),
    ({"title": "t", "case_key": "SEC-1", "new_case": True}, "case_key"),
    ({"case_key": "SEC12"}, "case_key"),
    ({"case_key": "sec-"}, "case_key"),
    ({"case_key": "SEC-1 OR 1=1"}, "case_key"),
    ({"new_case": True}, "title"),
    ({"new_case": True, "title": "   "}, "title"),
    ({"new_case": True, "title": "t", "people": []}, "people"),
    ({"new_case": True, "title": "t", "exec_people": ["U0NOBODY00"]}, "exec_people"),
], ids=["no-key-no-tick", "key-and-tick", "malformed-key", "key-without-number",
        "key-with-junk", "new-case-no-title", "new-case-blank-title", "no-people",
        "exec-people-without-exec-channel"])
def test_modal_error_is_shown_in_the_modal_and_starts_nothing(
        driver: SlackDriver, sandbox: Any, people: dict[str, str], security: str,
        fill: dict[str, Any], block_id: str) -> None:
    view = open_form(driver, people["alice"], security)
    issues = len(sandbox.jira_issues())
    creates = len(sandbox.requests("slack", "conversations.create"))
    values = form_values(view, {"people": [people["bob"]], **fill})
    reply = driver.submit(view, values, people["alice"])
    assert reply.status == 200
    assert isinstance(reply.body, dict) and reply.body.get("response_action") == "errors", reply
    assert set(reply.body["errors"]) == {block_id}, reply.body
    assert reply.body["errors"][block_id].strip()
    input_blocks = {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
    assert block_id in input_blocks  # Slack shows errors only under input blocks
    time.sleep(0.5)
    assert flow_runs(f"create-{view['id']}") == []
    assert len(sandbox.jira_issues()) == issues
    assert len(sandbox.requests("slack", "conversations.create")) == creates


# --- one incident per modal ---------------------------------------------------------------


def _wait_single_incident(sandbox: Any, name: str, view_id: str) -> dict[str, Any]:
    issue = wait_for(lambda: next((i for i in sandbox.jira_issues() if i["summary"] == name),
                                  None), timeout=60, what="the Jira issue")
    channel_name = f"incident_channel_{issue['key'].lower()}"
    wait_for(lambda: [e for e in sandbox.ephemerals if f"Incident {issue['key']} is ready" in
                      e["text"]], timeout=60, what="the incident to be ready")
    time.sleep(1.5)  # a second run, had one started, would have made its Jira issue by now
    assert [i["key"] for i in sandbox.jira_issues() if i["summary"] == name] == [issue["key"]]
    creates = [r for r in sandbox.requests("slack", "conversations.create")
               if r.params.get("name") == channel_name]
    assert len(creates) == 1, [r.params for r in creates]
    assert len(flow_runs(f"create-{view_id}")) == 1
    ready = [e for e in sandbox.ephemerals if f"Incident {issue['key']} is ready" in e["text"]]
    assert len(ready) == 1
    return issue


def test_double_submitted_modal_makes_one_incident(driver: SlackDriver, sandbox: Any,
                                                   people: dict[str, str],
                                                   security: str) -> None:
    view = open_form(driver, people["alice"], security)
    name = title()
    values = form_values(view, {"people": [people["bob"]], "title": name, "new_case": True})
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: driver.submit(view, values, people["alice"]),
                                range(2)))
    assert [r.status for r in replies] == [200, 200]
    _wait_single_incident(sandbox, name, view["id"])


def test_slack_retry_of_a_submit_makes_one_incident(driver: SlackDriver, sandbox: Any,
                                                    people: dict[str, str],
                                                    security: str) -> None:
    view, name, body = new_case_submission(driver, sandbox, people, security)
    assert driver.post(body).status_code == 200
    retry = {**sign(SIGNING_SECRET, body), "X-Slack-Retry-Num": "1",
             "X-Slack-Retry-Reason": "http_timeout"}
    assert driver.post(body, headers=retry).status_code == 200
    _wait_single_incident(sandbox, name, view["id"])


# --- help and commands outside an incident ------------------------------------------------


def test_backup_outside_an_incident_starts_no_run(driver: SlackDriver, sandbox: Any,
                                                  people: dict[str, str]) -> None:
    channel = sandbox.add_channel(f"random-{uuid.uuid4().hex[:6]}",
                                  members=[people["alice"], people["bob"]])
    jira_calls = len(sandbox.requests("jira"))
    reply = driver.command("backup", people["alice"], channel, "random")
    assert reply.status == 200
    answer = driver.wait_answer(reply.response_url)
    assert "not an open incident" in answer["text"]
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert not [m for m in sandbox.messages(channel) if m.get("bot_id")]
    time.sleep(0.5)
    assert flow_runs(f"backup-{reply.trigger_id}") == []
    assert not [r for r in flow_runs(deployment="backup")
                if (r.parameters or {}).get("channel_id") == channel]
    assert len(sandbox.requests("jira")) == jira_calls


def test_operator_runs_the_backup_deployment_with_only_a_channel(
        driver: SlackDriver, sandbox: Any, people: dict[str, str]) -> None:
    """`prefect deployment run backup-incident/backup --param channel_id=C…`, no requester."""
    from prefect.deployments import run_deployment

    from tasks.state import IncidentState, create_lock, save_incident

    key = sandbox.jira_create_issue(title())
    name = f"op-{uuid.uuid4().hex[:6]}"
    channel = sandbox.add_channel(name, members=[people["alice"]])
    create_lock(channel)
    save_incident(IncidentState(
        case_key=key, case_url=f"{sandbox.jira_url}/browse/{key}", channel_id=channel,
        channel_name=name, created_by=people["alice"], created_at=datetime.now(UTC)))
    posted = [sandbox.post_message(channel, people["alice"], f"op {i}") for i in range(3)]
    run = run_deployment(BACKUP, parameters={"channel_id": channel},
                         timeout=120)
    assert run.state is not None and run.state.is_completed(), run.state
    [csv] = [a for a in sandbox.jira_issue(key)["attachments"] if a["filename"].endswith(".csv")]
    content = csv["content"].decode()
    assert all(ts in content for ts in posted)
    assert any("an operator" in c for c in sandbox.jira_issue(key)["comments"])
