"""create-incident run in-process: real clients over HTTP against the sandbox, real Prefect API."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.flows.support import slack_calls, unique


def create(requested_by: str, invitees: list[str], **kwargs: Any) -> dict[str, str]:
    from flows.create import create_incident

    return create_incident(requested_by=requested_by, invitees=invitees, **kwargs)


def told(sandbox: Any, user: str, since: int = 0) -> list[str]:
    """What irbot told this person (ephemerals and DMs) after the first `since` ephemerals."""
    said = [e["text"] for e in sandbox.ephemerals[since:] if e["user"] == user]
    return said + [str(r.params.get("text")) for r in slack_calls(sandbox, "chat.postMessage")
                   if r.params.get("channel") == user]


def issues_titled(sandbox: Any, title: str) -> list[dict[str, Any]]:
    return [i for i in sandbox.jira_issues() if i["summary"] == title]


def test_new_case_state_holds_case_channels_creator_and_time(
        sandbox: Any, settings_env: dict[str, str], crew: dict[str, str], origin: str) -> None:
    from tasks.state import load_incident

    title = unique("State check")
    before = datetime.now(UTC)
    result = create(crew["ann"], [crew["ben"]], title=title, severity="SEV-2",
                    exec_channel=True, exec_invitees=[crew["cat"]], origin_channel=origin)

    [issue] = issues_titled(sandbox, title)
    key, channel_id = issue["key"], result["channel_id"]
    assert result["case_key"] == key
    channel = sandbox.channel(channel_id)
    assert channel["name"] == f"incident_channel_{key.lower()}"
    assert f"{settings_env['JIRA_URL']}/browse/{key}" in channel["topic"] + channel["purpose"]
    assert {crew["ann"], crew["ben"]} <= set(channel["members"])
    exec_ch = sandbox.channel(result["exec_channel_id"])
    assert exec_ch["name"] == f"incident_channel_{key.lower()}_exec"
    assert {crew["ann"], crew["cat"]} <= set(exec_ch["members"])

    state = load_incident(channel_id)
    assert state.case_key == key
    assert state.channel_id == channel_id and state.channel_name == channel["name"]
    assert state.exec_channel_id == exec_ch["id"]
    assert state.exec_channel_name == exec_ch["name"]
    assert state.created_by == crew["ann"]
    assert state.created_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= state.created_at <= datetime.now(UTC)
    assert state.backup_cursor == "" and state.transcript_attachment_id is None
    assert any(f"Incident {key} is ready: <#{channel_id}>" in t for t in told(sandbox, crew["ann"]))


def test_unknown_existing_key_fails_and_tells_requester(
        sandbox: Any, settings_env: dict[str, str], crew: dict[str, str], origin: str) -> None:
    key = "SEC-987654"
    seen = len(sandbox.ephemerals)
    creates = len(sandbox.requests("slack", "conversations.create"))
    with pytest.raises(Exception, match=key):
        create(crew["ann"], [crew["ben"]], existing_case=key, origin_channel=origin)
    said = told(sandbox, crew["ann"], seen)
    assert any(key in t and "Could not create the incident" in t for t in said), said
    assert len(sandbox.requests("slack", "conversations.create")) == creates
    assert sandbox.channel_by_name(f"incident_channel_{key.lower()}") is None


def test_existing_key_makes_no_new_issue(sandbox: Any, settings_env: dict[str, str],
                                         crew: dict[str, str], origin: str) -> None:
    key = sandbox.jira_create_issue(unique("Reported by phone"))
    issues = len(sandbox.jira_issues())
    posts = len(sandbox.requests("jira", "POST /rest/api/2/issue"))
    result = create(crew["ann"], [crew["ben"]], existing_case=key, origin_channel=origin)
    assert len(sandbox.jira_issues()) == issues
    assert len(sandbox.requests("jira", "POST /rest/api/2/issue")) == posts
    channel = sandbox.channel(result["channel_id"])
    assert channel["name"] == f"incident_channel_{key.lower()}"
    assert result["case_key"] == key
    assert any("#incident_channel_" in c for c in sandbox.jira_issue(key)["comments"])


def test_a_repeated_create_finds_the_case_made_for_its_request(
        sandbox: Any, settings_env: dict[str, str]) -> None:
    """What a re-run after a crash relies on (the case was made, its answer lost): the search
    by the request's label really reaches Jira and names that case."""
    from tasks.clients import jira_client
    from tasks.jira import find_labelled_case, issue_fields, request_label

    jira = jira_client()
    request = unique("V")
    fields = issue_fields("SEC", "Task", unique("Labelled"), "SEV-3", "ann", request)
    key = str(jira.create_issue(fields=fields, prefetch=False).key)
    assert find_labelled_case(jira, "SEC", request_label(request)) == key
    assert find_labelled_case(jira, "SEC", request_label(unique("V"))) is None
    assert sandbox.requests("jira", "GET /rest/api/2/search/jql")


@pytest.mark.parametrize("bot_is_member", [True, False])
def test_name_taken_by_someone_elses_channel_fails_clearly(
        sandbox: Any, settings_env: dict[str, str], crew: dict[str, str], origin: str,
        bot_is_member: bool) -> None:
    from tasks.errors import NotAnIncident
    from tasks.state import load_incident

    key = sandbox.jira_create_issue(unique("Squatted"))
    name = f"incident_channel_{key.lower()}"
    squatter = sandbox.add_channel(name, members=[crew["cat"]], bot_is_member=bot_is_member,
                                   creator=crew["cat"])
    seen = len(sandbox.ephemerals)
    with pytest.raises(Exception, match="not created by irbot"):
        create(crew["ann"], [crew["ben"]], existing_case=key, origin_channel=origin)
    said = told(sandbox, crew["ann"], seen)
    assert any(name in t and "not created by irbot" in t for t in said), said
    channel = sandbox.channel(squatter)
    assert channel["topic"] == "" and channel["purpose"] == ""
    assert crew["ann"] not in channel["members"] and crew["ben"] not in channel["members"]
    with pytest.raises(NotAnIncident):
        load_incident(squatter)


def test_name_taken_by_our_own_channel_is_reused(
        sandbox: Any, settings_env: dict[str, str], crew: dict[str, str], origin: str) -> None:
    from prefect.client.orchestration import get_client

    from tasks.state import document_name, load_incident

    key = sandbox.jira_create_issue(unique("Submitted twice"))
    first = create(crew["ann"], [crew["ben"]], existing_case=key, origin_channel=origin)
    state = load_incident(first["channel_id"])
    second = create(crew["ann"], [crew["ben"], crew["cat"]], existing_case=key,
                    origin_channel=origin)
    assert second["channel_id"] == first["channel_id"]
    name = f"incident_channel_{key.lower()}"
    assert len(slack_calls(sandbox, "conversations.create", name=name)) == 2  # 2nd: name_taken
    assert sandbox.channel_by_name(name)["id"] == first["channel_id"]
    again = load_incident(first["channel_id"])
    assert again.created_at == state.created_at and again.created_by == state.created_by
    with get_client(sync_client=True) as client:
        docs = client.read_block_documents_by_type("irbot-incident")
    assert [d.name for d in docs].count(document_name(first["channel_id"])) == 1
    assert crew["cat"] in sandbox.channel(first["channel_id"])["members"]


def test_a_rerun_after_the_channels_comment_does_not_comment_again(
        sandbox: Any, settings_env: dict[str, str], crew: dict[str, str], origin: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed once Jira stored the channels comment: the re-run reuses its channel, whose time
    now comes from the state (not Slack's), so its comment is found by the channel's line."""
    key = sandbox.jira_create_issue(unique("Commented then killed"))
    create(crew["ann"], [crew["ben"]], existing_case=key, origin_channel=origin)
    monkeypatch.setattr("tasks.jira.is_repeat_attempt", lambda: True)  # the same run again
    create(crew["ann"], [crew["ben"]], existing_case=key, origin_channel=origin)
    name = f"incident_channel_{key.lower()}"
    recorded = [c for c in sandbox.jira_issue(key)["comments"] if f"#{name} (created" in c]
    assert len(recorded) == 1, recorded


def test_invitations_go_in_batches_of_at_most_100(
        sandbox: Any, settings_env: dict[str, str], crew: dict[str, str], origin: str) -> None:
    many = [sandbox.add_user(f"resp{i}", f"Responder {i}") for i in range(150)]
    result = create(crew["ann"], many, title=unique("Big incident"), severity="SEV-1",
                    origin_channel=origin)
    channel_id = result["channel_id"]
    calls = slack_calls(sandbox, "conversations.invite", channel=channel_id)
    batches = [str(c.params["users"]).split(",") for c in calls]
    assert len(batches) >= 2 and all(len(b) <= 100 for b in batches), [len(b) for b in batches]
    assert set(many) | {crew["ann"]} <= {u for b in batches for u in b}
    assert set(many) | {crew["ann"]} <= set(sandbox.channel(channel_id)["members"])


def test_deactivated_and_already_present_people_are_not_failures(
        sandbox: Any, settings_env: dict[str, str], crew: dict[str, str], origin: str) -> None:
    key = sandbox.jira_create_issue(unique("Mixed invitees"))
    first = create(crew["ann"], [crew["ben"], crew["gone"]], existing_case=key,
                   origin_channel=origin)
    channel_id = first["channel_id"]
    members = sandbox.channel(channel_id)["members"]
    assert crew["ben"] in members and crew["gone"] not in members
    ready = [t for t in told(sandbox, crew["ann"]) if f"is ready: <#{channel_id}>" in t]
    assert ready and f"<@{crew['gone']}>" in ready[-1] and "inactive" in ready[-1]
    assert f"<@{crew['ben']}>" not in ready[-1]

    # Everybody already in (and the deactivated one again): still a success.
    again = create(crew["ann"], [crew["ben"], crew["gone"]], existing_case=key,
                   origin_channel=origin)
    assert again["channel_id"] == channel_id
    ready = [t for t in told(sandbox, crew["ann"]) if f"is ready: <#{channel_id}>" in t]
    assert len(ready) == 2 and f"<@{crew['ben']}>" not in ready[-1]


def test_rate_limit_and_jira_500_are_retried_once_created(
        sandbox: Any, settings_env: dict[str, str], crew: dict[str, str], origin: str) -> None:
    title = unique("Flaky vendors")
    creates = len(sandbox.requests("slack", "conversations.create"))
    posts = len(sandbox.requests("jira", "POST /rest/api/2/issue"))
    sandbox.inject_fault("slack", "conversations.create", 429, times=1, retry_after=1)
    sandbox.inject_fault("jira", "POST /rest/api/2/issue$", 500, times=1)
    result = create(crew["ann"], [crew["ben"]], title=title, severity="SEV-3",
                    origin_channel=origin)
    [issue] = issues_titled(sandbox, title)
    assert [r.status for r in sandbox.requests("jira", "POST /rest/api/2/issue")[posts:]] \
        == [500, 201]
    assert [r.status for r in sandbox.requests("slack", "conversations.create")[creates:]] \
        == [429, 200]
    name = f"incident_channel_{issue['key'].lower()}"
    assert sandbox.channel(result["channel_id"])["name"] == name
    assert crew["ben"] in sandbox.channel(result["channel_id"])["members"]


def test_permanent_slack_error_is_not_retried_and_named(
        sandbox: Any, settings_env: dict[str, str], crew: dict[str, str], origin: str) -> None:
    creates = len(sandbox.requests("slack", "conversations.create"))
    seen = len(sandbox.ephemerals)
    sandbox.inject_fault("slack", "conversations.create", 200,
                         body={"ok": False, "error": "missing_scope"})
    with pytest.raises(Exception, match="missing_scope"):
        create(crew["ann"], [crew["ben"]], title=unique("No scope"), severity="SEV-3",
               origin_channel=origin)
    assert len(sandbox.requests("slack", "conversations.create")[creates:]) == 1
    said = told(sandbox, crew["ann"], seen)
    assert any("missing_scope" in t and "Could not create the incident" in t for t in said), said


def test_the_incident_exists_before_its_channel_looks_ready(
        sandbox: Any, settings_env: dict[str, str], crew: dict[str, str], origin: str) -> None:
    """State first, description after: a command typed in a channel that shows its case finds
    the incident. A description refused for good leaves the incident saved, not half-made."""
    from tasks.state import find_incident_by_channel_name

    title = unique("Described last")
    sandbox.inject_fault("slack", "conversations.setTopic", 200,
                         body={"ok": False, "error": "restricted_action"})
    with pytest.raises(Exception, match="restricted_action"):
        create(crew["ann"], [crew["ben"]], title=title, severity="SEV-3", origin_channel=origin)
    [issue] = issues_titled(sandbox, title)
    state = find_incident_by_channel_name(f"incident_channel_{issue['key'].lower()}")
    assert state is not None and state.case_key == issue["key"]
    assert not sandbox.channel(state.channel_id)["topic"]


def test_refused_channels_comment_does_not_disown_an_open_incident(
        sandbox: Any, settings_env: dict[str, str], crew: dict[str, str], origin: str) -> None:
    key = sandbox.jira_create_issue(unique("Comment refused"))
    seen = len(sandbox.ephemerals)
    sandbox.inject_fault("jira", f"POST /rest/api/2/issue/{key}/comment", 400, times=1)
    with contextlib.suppress(Exception):  # judged by what people see, below
        create(crew["ann"], [crew["ben"]], existing_case=key, origin_channel=origin)
    channel = sandbox.channel_by_name(f"incident_channel_{key.lower()}")
    assert channel and {crew["ann"], crew["ben"]} <= set(channel["members"])
    said = told(sandbox, crew["ann"], seen)
    assert not [t for t in said if "Could not create the incident" in t], said
    assert any(f"Incident {key} is ready" in t for t in said), said
