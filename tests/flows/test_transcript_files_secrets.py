"""Files attached once (or why not), and secrets masked everywhere irbot writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support import read_transcript

Seed = Callable[..., dict[str, str]]
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
SLACK_TOKEN = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
PASSWORD = "hunter22hunter22"


def backup(channel_id: str, **options: Any) -> dict[str, Any]:
    from flows.backup import backup_incident

    return backup_incident(channel_id, **options)


def test_files_attached_once_up_to_the_cap_or_noted(
        sandbox: Any, seed_incident: Seed, crew: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRBOT_MAX_FILE_MB", "0.001")  # 1,048 bytes
    inc = seed_incident()
    ch, key, ann = inc["channel_id"], inc["key"], crew["ann"]
    png = b"\x89PNG\r\n" + bytes(200)
    shot_ts, shot = sandbox.post_file(ch, ann, "screenshot.png", png, "image/png",
                                      text="the error page")
    big_ts, big = sandbox.post_file(ch, ann, "heap.dump", bytes(5000))
    log_ts, leaky = sandbox.post_file(ch, ann, "env.log", f"AWS_KEY={AWS_KEY}\n".encode(),
                                      "text/plain")
    old_ts, _ = sandbox.post_file(ch, ann, "old.png", png, "image/png", hidden=True)
    mark = len(sandbox.requests("slack", "files.download"))
    result = backup(ch, requested_by=ann)

    names = [a["filename"] for a in sandbox.jira_issue(key)["attachments"]]
    assert f"slack-{shot}-screenshot.png" in names
    assert not any(big in n or leaky in n for n in names)
    [attached] = [a for a in sandbox.jira_issue(key)["attachments"] if shot in a["filename"]]
    assert attached["content"] == png
    got = {r["ts"]: r for r in read_transcript(sandbox, key).to_dict("records")}
    assert got[shot_ts]["files"].startswith("screenshot.png (image/png) <https://")
    assert got[shot_ts]["files"].endswith(f": attached to Jira as slack-{shot}-screenshot.png")
    assert got[big_ts]["files"].endswith("not attached: over the 1.0 KB cap (4.9 KB)")
    assert got[log_ts]["files"].endswith("not attached: it holds a secret")
    assert "Slack hides it" in got[old_ts]["files"] and "not attached" in got[old_ts]["files"]
    assert result["files_attached"] == 1
    downloads = sandbox.requests("slack", "files.download")[mark:]
    assert sorted(r.params["file"] for r in downloads) == sorted([shot, leaky])

    sandbox.post_message(ch, ann, "one more message")
    backup(ch, requested_by=ann)  # files fetched once: nothing downloaded again
    assert sandbox.requests("slack", "files.download")[mark + len(downloads):] == []
    assert [a["filename"] for a in sandbox.jira_issue(key)["attachments"]].count(
        f"slack-{shot}-screenshot.png") == 1


def test_a_file_that_cannot_be_fetched_is_noted_and_tried_again(
        sandbox: Any, seed_incident: Seed, crew: dict[str, str]) -> None:
    inc = seed_incident()
    ch, key, ann = inc["channel_id"], inc["key"], crew["ann"]
    ts, file_id = sandbox.post_file(ch, ann, "trace.txt", b"a trace", "text/plain")
    sandbox.inject_fault("slack", "files.download", 403)
    backup(ch, requested_by=ann)
    cell = read_transcript(sandbox, key).set_index("ts").loc[ts, "files"]
    assert cell.endswith("not attached: could not be fetched (HTTP 403)")
    sandbox.post_message(ch, ann, "next")
    backup(ch, requested_by=ann)
    cell = read_transcript(sandbox, key).set_index("ts").loc[ts, "files"]
    assert cell.endswith(f"attached to Jira as slack-{file_id}-trace.txt")


def test_secrets_in_messages_edits_replies_and_file_names_never_leave_slack(
        sandbox: Any, seed_incident: Seed, crew: dict[str, str]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    from flows.backup import backup_incident

    inc = seed_incident()
    ch, key, ann, ben = inc["channel_id"], inc["key"], crew["ann"], crew["ben"]
    leak = sandbox.post_message(ch, ann, f"the deploy key is {AWS_KEY}, rotate it")
    parent = sandbox.post_message(ch, ben, "which token did the bot use?")
    reply = sandbox.post_message(ch, ann, f"this one: {SLACK_TOKEN}", thread_ts=parent)
    fixed = sandbox.post_message(ch, ben, "the db is back")
    named_ts, _ = sandbox.post_file(ch, ann, f"{AWS_KEY}.png", b"png", "image/png")
    first = backup(ch, requested_by=ann)
    sandbox.edit_message(ch, fixed, f"the db is back, password={PASSWORD}")
    state = backup_incident(ch, requested_by=ben, return_state=True)
    second = state.result()

    csv = read_transcript(sandbox, key)
    got = {r["ts"]: r for r in csv.to_dict("records")}
    assert got[leak]["text"] == "the deploy key is [redacted: AWS Access Key], rotate it"
    assert got[reply]["text"] == "this one: [redacted: Slack Token]"
    assert got[fixed]["text"] == "the db is back, password=[redacted: Secret Keyword]"
    assert got[fixed]["text_first_stored"] == "the db is back"
    assert got[named_ts]["files"].startswith("[redacted: AWS Access Key] (image/png) <https://")
    assert got[named_ts]["files"].endswith("-_redacted_ AWS Access Key_.png")
    secrets = (AWS_KEY, SLACK_TOKEN, PASSWORD)
    everything = [csv.to_csv(), *sandbox.jira_issue(key)["comments"],
                  *(a["filename"] for a in sandbox.jira_issue(key)["attachments"]),
                  repr(first), repr(second),
                  *(repr(r.params) for r in sandbox.requests("jira"))]
    assert not [s for s in secrets for text in everything if s in text]
    backups = [c for c in sandbox.jira_issue(key)["comments"] if "SHA-256" in c]
    assert "3 secrets masked" in backups[0] and "1 secret masked" in backups[1]
    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(
            any_=[state.state_details.flow_run_id])))
    # (The session logs at WARNING: this holds for whatever a failing run would log.)
    assert not [s for s in secrets for log in logs if s in log.message]
