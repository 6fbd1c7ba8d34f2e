"""The Jira emulator through the real `jira` library (and raw httpx for refusals)."""

from __future__ import annotations

from io import BytesIO

import httpx
import pytest
from jira import JIRA, JIRAError

from sandbox import Sandbox


def test_issue_comment_attachment_lifecycle(jira: JIRA, sb: Sandbox) -> None:
    issue = jira.create_issue(project={"key": "SEC"}, summary="Disk full on db-1",
                              issuetype={"name": "Task"}, description="Found by alerting")
    assert issue.key == "SEC-1"
    assert issue.fields.summary == "Disk full on db-1"
    assert issue.fields.status.name == "Open"

    jira.add_comment(issue.key, "Channel #incident_channel_sec-1 created")
    csv = b"ts,user_id,text\n1700000000.000100,U1,hello\n"
    attachment = jira.add_attachment(issue.key, BytesIO(csv), filename="transcript.csv")
    assert attachment.size == len(csv)
    assert attachment.filename == "transcript.csv"
    assert attachment.content == f"{sb.jira_url}/secure/attachment/{attachment.id}/transcript.csv"
    assert jira.attachment(attachment.id).get() == csv  # type: ignore[no-untyped-call]

    listed = jira.issue(issue.key, fields="attachment").fields.attachment
    assert [a.id for a in listed] == [attachment.id]
    assert [c.body for c in jira.comments(issue.key)] == [
        "Channel #incident_channel_sec-1 created"]

    snapshot = sb.jira_issue(issue.key)
    assert snapshot["comments"] == ["Channel #incident_channel_sec-1 created"]
    assert snapshot["attachments"][0]["content"] == csv
    assert snapshot["attachments"][0]["mime_type"] == "text/csv"

    jira.delete_attachment(attachment.id)
    assert jira.issue(issue.key, fields="attachment").fields.attachment == []
    with pytest.raises(JIRAError) as info:
        jira.attachment(attachment.id)
    assert info.value.status_code == 404


def test_project_lookup_by_name_path(jira: JIRA) -> None:
    issue = jira.create_issue(project="SEC", summary="by key", issuetype={"name": "Task"},
                              prefetch=False)
    assert issue.key == "SEC-1"
    with pytest.raises(JIRAError) as info:
        jira.project("NOPE")
    assert info.value.status_code == 404
    assert "No project could be found with key 'NOPE'." in str(info.value.text)


def test_seeded_issue_and_validation(jira: JIRA, sb: Sandbox) -> None:
    key = sb.jira_create_issue("existing case")
    assert jira.issue(key).fields.summary == "existing case"
    with pytest.raises(JIRAError) as info:
        jira.create_issue(fields={"project": {"key": "SEC"}, "issuetype": {"name": "Task"}})
    assert info.value.status_code == 400
    assert "You must specify a summary of the issue." in str(info.value.text)
    with pytest.raises(JIRAError) as missing:
        jira.issue("SEC-999")
    assert missing.value.status_code == 404


def _raw(sb: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sb.jira_url, auth=(sb.jira_user, sb.jira_token))


def test_attachments_need_xsrf_header(sb: Sandbox) -> None:
    key = sb.jira_create_issue("case")
    files = {"file": ("t.csv", b"a,b\n", "text/csv")}
    with _raw(sb) as client:
        refused = client.post(f"/rest/api/2/issue/{key}/attachments", files=files)
        assert refused.status_code == 403
        assert refused.text == "XSRF check failed"
        accepted = client.post(f"/rest/api/2/issue/{key}/attachments", files=files,
                               headers={"X-Atlassian-Token": "no-check"})
        assert accepted.status_code == 200
        assert accepted.json()[0]["size"] == 4
    assert sb.jira_issue(key)["attachments"][0]["filename"] == "t.csv"


def test_auth_required_everywhere(sb: Sandbox) -> None:
    key = sb.jira_create_issue("case")
    for path in ("/rest/api/2/serverInfo", f"/rest/api/2/issue/{key}"):
        answer = httpx.get(sb.jira_url + path, auth=(sb.jira_user, "wrong"))
        assert answer.status_code == 401
        assert set(answer.json()) == {"errorMessages", "errors"}
    with pytest.raises(JIRAError):
        JIRA(server=sb.jira_url, basic_auth=(sb.jira_user, "wrong"), max_retries=0, timeout=5)
    (recorded, _) = sb.requests("jira")[:2]
    assert recorded.auth_present and not recorded.auth_valid
    assert "authorization" not in recorded.headers


def test_faults_by_method_and_path(jira: JIRA, sb: Sandbox) -> None:
    sb.inject_fault("jira", r"POST /rest/api/2/issue$", 503)
    with pytest.raises(JIRAError) as info:
        jira.create_issue(project={"key": "SEC"}, summary="x", issuetype={"name": "Task"})
    assert info.value.status_code == 503
    issue = jira.create_issue(project={"key": "SEC"}, summary="x", issuetype={"name": "Task"})
    sb.inject_fault("jira", "DELETE /rest/api/2/attachment/", 500, times=2)
    attachment = jira.add_attachment(issue.key, BytesIO(b"data"), filename="a.txt")
    for _ in range(2):
        with pytest.raises(JIRAError):
            jira.delete_attachment(attachment.id)
    jira.delete_attachment(attachment.id)
    statuses = [r.status for r in sb.requests("jira") if r.http_method == "DELETE"]
    assert statuses == [500, 500, 204]
