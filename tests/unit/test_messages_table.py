"""Slack texts and Block Kit the flows post (pure builders)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from tasks.messages import (
    ARCHIVE_CANCEL_ACTION,
    ARCHIVE_NOW_ACTION,
    NOTICE_EVENT_TYPE,
    archive_announcement,
    archive_outcome,
    channel_description,
    duration_text,
    exec_channel_name,
    incident_channel_name,
    is_irbot_notice,
    notice_key,
    notice_metadata,
    slack_time,
)
from webhook.modal import CASE_KEY, NEW_CASE, PEOPLE, CreateRequest, read_submission

SLACK_CHANNEL_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")
DEADLINE = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "name", "exec_name"),
    [
        ("SEC-42", "incident_channel_sec-42", "incident_channel_sec-42_exec"),
        ("sec-42", "incident_channel_sec-42", "incident_channel_sec-42_exec"),
        ("OPS_2-1", "incident_channel_ops_2-1", "incident_channel_ops_2-1_exec"),
        ("ABCDEFGHIJ-9999999999", "incident_channel_abcdefghij-9999999999",
         "incident_channel_abcdefghij-9999999999_exec"),
    ],
)
def test_channel_names(key: str, name: str, exec_name: str) -> None:
    assert incident_channel_name(key) == name
    assert exec_channel_name(key) == exec_name
    assert SLACK_CHANNEL_NAME.match(name)
    assert SLACK_CHANNEL_NAME.match(exec_name)


def test_every_key_the_modal_accepts_gives_valid_channel_names() -> None:
    longest = "A" * 30 + "-" + "1" * 10
    accepted = read_submission({
        PEOPLE: {PEOPLE: {"type": "multi_users_select", "selected_users": ["U1"]}},
        CASE_KEY: {CASE_KEY: {"type": "plain_text_input", "value": longest}},
        NEW_CASE: {NEW_CASE: {"type": "checkboxes", "selected_options": []}},
    })
    assert isinstance(accepted, CreateRequest)
    assert SLACK_CHANNEL_NAME.match(incident_channel_name(longest))
    assert SLACK_CHANNEL_NAME.match(exec_channel_name(longest))


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("SEC-42", "https://example.atlassian.net/browse/SEC-42"),
        ("ABCDEFGHIJ-9999999999", "https://a-rather-long-company-name.atlassian.net/browse/"
                                  "ABCDEFGHIJ-9999999999"),
    ],
)
def test_channel_description_holds_browse_url(key: str, url: str) -> None:
    text = channel_description(key, url)
    assert url in text
    assert key in text
    assert len(text) <= 250
    assert "<" not in text and "*" not in text  # plain, no formatting


def actions_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == "actions"]


@pytest.mark.parametrize("run_id", ["0b2c6c0e-8d5e-4a3b-9b1f-2f0c3a4d5e6f", "r1"])
def test_archive_announcement_buttons(run_id: str) -> None:
    text, blocks = archive_announcement("U1", DEADLINE, run_id)
    assert "<@U1>" in text
    assert str(int(DEADLINE.timestamp())) in text
    [actions] = actions_blocks(blocks)
    buttons = actions["elements"]
    assert len(buttons) == 2
    assert all(b["type"] == "button" for b in buttons)
    assert [b["action_id"] for b in buttons] == [ARCHIVE_CANCEL_ACTION, ARCHIVE_NOW_ACTION]
    assert [b["value"] for b in buttons] == [run_id, run_id]
    labels = [b["text"]["text"] for b in buttons]
    assert "Cancel" in labels[0]
    assert "Cancel" not in labels[1]
    assert all(len(label) <= 75 for label in labels)
    assert ARCHIVE_CANCEL_ACTION != ARCHIVE_NOW_ACTION


@pytest.mark.parametrize("text", ["Archive cancelled by <@U2>.", "Archived.", ""])
def test_archive_outcome_has_no_buttons(text: str) -> None:
    out_text, blocks = archive_outcome(text)
    assert out_text == text
    assert actions_blocks(blocks) == []
    assert all("elements" not in b or all(e.get("type") != "button" for e in b["elements"])
               for b in blocks)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 seconds"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "1 minute"),
        (90, "90 seconds"),
        (120, "2 minutes"),
        (3599, "3599 seconds"),
        (3600, "1 hour"),
        (5400, "90 minutes"),
        (7200, "2 hours"),
        (86400, "24 hours"),
    ],
)
def test_duration_text(seconds: int, text: str) -> None:
    assert duration_text(seconds) == text


@pytest.mark.parametrize(
    ("message", "is_notice"),
    [
        ({"text": "x", "metadata": notice_metadata("backup")}, True),
        ({"text": "x", "metadata": notice_metadata("archive")}, True),
        ({"text": "x", "metadata": {"event_type": NOTICE_EVENT_TYPE}}, True),
        ({"text": "x", "metadata": {"event_type": "other"}}, False),
        ({"text": "x", "metadata": None}, False),
        ({"text": "x", "metadata": {}}, False),
        ({"text": "x"}, False),
        ({}, False),
    ],
)
def test_is_irbot_notice(message: dict[str, Any], is_notice: bool) -> None:
    assert is_irbot_notice(message) is is_notice


@pytest.mark.parametrize("kind", ["backup", "archive", "page"])
def test_notice_metadata_shape(kind: str) -> None:
    meta = notice_metadata(kind, "run-1:x:abc")
    assert meta == {"event_type": NOTICE_EVENT_TYPE,
                    "event_payload": {"kind": kind, "key": "run-1:x:abc"}}
    assert re.fullmatch(r"[a-z0-9_]+", meta["event_type"])


def test_notice_key_is_stable_and_distinct() -> None:
    assert notice_key("r1", "backup", "Saved.") == notice_key("r1", "backup", "Saved.")
    assert notice_key("r1", "backup", "Saved.") != notice_key("r2", "backup", "Saved.")
    assert notice_key("r1", "backup", "Saved.") != notice_key("r1", "backup", "Failed.")
    assert notice_key("r1", "backup", "Saved.").startswith("r1:backup:")


def test_slack_time_has_epoch_and_utc_fallback() -> None:
    assert slack_time(DEADLINE) == (
        "<!date^1704164645^{date_short_pretty} at {time}|2024-01-02 03:04 UTC>")


@pytest.mark.parametrize(
    ("state_type", "final"),
    [(None, True), ("COMPLETED", True), ("FAILED", True), ("CANCELLED", True),
     ("CRASHED", True), ("CANCELLING", True), ("PAUSED", False), ("RUNNING", False),
     ("SCHEDULED", False), ("PENDING", False)],
)
def test_run_is_final(state_type: str | None, final: bool) -> None:
    from tasks.state import run_is_final

    assert run_is_final(state_type) is final


@pytest.mark.parametrize(
    ("run_id", "closing", "run_state", "pending", "still_closing"),
    [(None, False, None, False, False),          # no archive asked for
     ("r1", False, "PAUSED", True, False),       # waiting for its decision
     ("r1", False, "CRASHED", False, False),     # a stale marker: the run is over
     ("r1", True, "RUNNING", True, True),        # archiving now
     ("r1", True, "FAILED", False, False),       # failed while closing: open again
     (None, True, None, False, True)],           # closing, its run not recorded
)
def test_archive_pending_and_still_closing(run_id: str | None, closing: bool,
                                            run_state: str | None, pending: bool,
                                            still_closing: bool) -> None:
    from datetime import UTC, datetime

    from tasks import state as st

    incident = st.IncidentState(case_key="SEC-1", case_url="u", channel_id="C1",
                                channel_name="incident_channel_sec-1", created_by="U1",
                                created_at=datetime(2024, 1, 1, tzinfo=UTC),
                                archive_flow_run_id=run_id, closing=closing)
    assert st.archive_pending(incident, run_state) is pending
    assert st.still_closing(incident, run_state) is still_closing


@pytest.mark.parametrize(
    ("code", "dm"),
    [("channel_not_found", True), ("not_in_channel", True), ("user_not_in_channel", True),
     ("is_archived", True), ("invalid_auth", False), ("ratelimited", False)],
)
def test_an_ephemeral_falls_back_to_a_dm_only_where_it_cannot_reach(code: str,
                                                                     dm: bool) -> None:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web import SlackResponse

    from tasks.slack import dm_instead

    response = SlackResponse(client=None, http_verb="POST", api_url="u", req_args={},
                             data={"ok": False, "error": code}, headers={}, status_code=200)
    assert dm_instead(SlackApiError("refused", response)) is dm


@pytest.mark.parametrize(
    ("user", "named"),
    [(None, "an operator (from Prefect)"), ("", "an operator (from Prefect)"),
     ("U123", "<@U123>"), ("W9", "<@W9>"), ("deadline", "the deadline"),
     ("ops-oncall", "ops-oncall")],  # a name typed in the Prefect UI: never a bogus mention
)
def test_who(user: str | None, named: str) -> None:
    from tasks.messages import who

    assert who(user) == named


def _texts() -> list[tuple[str, str]]:
    from tasks import messages as m

    return [
        (m.channel_not_created("incident_channel_sec-1", "Slack refused: `x`"),
         "Could not create #incident_channel_sec-1. Slack refused: `x`"),
        (m.channel_archived_under_name("c"),
         "#c exists but is archived. Unarchive it in Slack, then run /irbot create again."),
        (m.channel_not_ours("c"), "#c already exists and was not created by irbot. Rename or "
                                  "archive that channel, or use a different case key."),
        (m.channels_comment_refused("SEC-1"), " Note: Jira refused the comment recording the "
                                              "channels on SEC-1; please add it by hand."),
        (m.channels_comment([("incident_channel_sec-1", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))],
                            "Ann"),
         "Slack incident channels opened by Ann via irbot:\n"
         "* #incident_channel_sec-1 (created 2025-01-02 03:04:05 UTC)"),
        (m.channel_line("incident_channel_sec-1"), "* #incident_channel_sec-1 (created"),
        (m.incident_ready("SEC-1", "C1", None, {}), "Incident SEC-1 is ready: <#C1>."),
        (m.incident_ready("SEC-1", "C1", "C2", {"U3": "user_is_inactive"}),
         "Incident SEC-1 is ready: <#C1> (executive channel <#C2>). Not invited: "
         "<@U3> (user is inactive)."),
        (m.incident_failed("Jira said no.", ""), "Could not create the incident. Jira said no."),
        (m.incident_failed("Jira said no.", "http://ui/r"),
         "Could not create the incident. Jira said no. Run: http://ui/r"),
        (m.backup_requested("SEC-1", None),
         "Backup to SEC-1 requested by an operator (from Prefect)…"),
        (m.backup_requested("SEC-1", "U1"), "Backup to SEC-1 requested by <@U1>…"),
        (m.backup_failed("HTTPError", ""), "Backup failed (HTTPError). Nothing was lost: the "
         "next backup starts from the same point. Details: the Prefect UI"),
        (m.backup_saved("SEC-1", 1, 0, 2, 3, 9), "Backup saved to SEC-1: 1 new message "
         "(0 in threads), 2 edited, 3 deleted; 9 in total."),
        (m.NOTHING_NEW, "Nothing new since the last backup; Jira is unchanged."),
        (m.final_check_comment("12 of 12"), "irbot final backup: 12 of 12"),
        (m.transcript_incomplete(2), "the transcript lacks 2 of the channel's messages or "
                                     "files; see the Jira case"),
        (m.archive_cancelled("U2"), "Archive cancelled by <@U2>. The channel stays open."),
        (m.archive_cancelled("ops-oncall"),
         "Archive cancelled by ops-oncall. The channel stays open."),
        (m.archiving_now("deadline"), "Archiving now (the deadline): taking a final backup "
                                      "first…"),
        (m.final_backup_failed("http://ui/r"), "The final backup failed, so this channel was "
         "*not* archived. Nothing was deleted. Details: http://ui/r"),
        (m.archived("SEC-1", None), "Final backup saved to SEC-1. This channel is archived at "
                                    "the request of an operator (from Prefect)."),
        (m.archive_refused("Slack refused: `x`"), "The final backup is saved, but the channel "
         "could not be archived (Slack refused: `x`). The incident stays open: fix the cause, "
         "then `/irbot archive` again."),
        (m.page_summary("SEC-1", "DB down", "C1", ""), "[irbot] SEC-1: DB down"),
        (m.page_summary("SEC-1", "", "C1", "now"), "[irbot] SEC-1 — now"),
        (m.page_summary(None, "", "C1", ""), "[irbot] Slack channel C1"),
        (m.not_paged("db", m.page_gave_up("ConnectError")), "`db` was NOT paged: PagerDuty did "
         "not accept the page after several tries (ConnectError). Try again, or reach them "
         "another way."),
        (m.paged("U1", "db", "", "k"), "<@U1> paged *db* (dedup key `k`)"),
        (m.paged(None, "db", "now", "k"),
         "An operator (from Prefect) paged *db*: now (dedup key `k`)"),
        (m.page_comment("db", "Ann (U1)", "now", "k"),
         "PagerDuty: team db paged by Ann (U1): now (dedup key k)"),
    ]


def test_page_links() -> None:
    from tasks.messages import page_links

    channel = {"href": "https://slack.com/app_redirect?channel=C1", "text": "Slack channel"}
    assert page_links("C1", None, "") == [channel]
    assert page_links("C1", "SEC-1", "https://j/browse/SEC-1") == [
        channel, {"href": "https://j/browse/SEC-1", "text": "Jira SEC-1"}]


@pytest.mark.parametrize("index", range(len(_texts())))
def test_what_flows_say(index: int) -> None:
    built, expected = _texts()[index]
    assert built == expected


# --- Containment --------------------------------------------------------------------------

HOST = {"device_id": "ab" * 16, "hostname": "web-01", "platform_name": "Windows",
        "os_version": "Windows 11", "last_seen": "2024-01-02T03:04:05Z", "status": "normal"}


def test_host_card_shows_what_falcon_found_with_two_buttons() -> None:
    from tasks.messages import CONTAIN_CANCEL_ACTION, CONTAIN_CONFIRM_ACTION, host_card

    text, blocks = host_card("contain", "U1", HOST, '{"v": 1}')
    assert text == (
        "<@U1> asked to contain a host. CrowdStrike Falcon found `web-01` · Windows 11"
        " · last seen <!date^1704164645^{date_short_pretty} at {time}|2024-01-02 03:04 UTC> · "
        "not contained. The incident commander or an allowed responder can confirm.")
    confirm, cancel = blocks[1]["elements"]
    assert (confirm["action_id"], confirm["text"]["text"], confirm["style"], confirm["value"]) \
        == (CONTAIN_CONFIRM_ACTION, "Contain", "danger", '{"v": 1}')
    assert (cancel["action_id"], cancel["text"]["text"]) == (CONTAIN_CANCEL_ACTION, "Cancel")
    lift_text, lift_blocks = host_card("lift", None, {**HOST, "status": "contained",
                                                      "platform_name": "Linux",
                                                      "os_version": "", "last_seen": "?"}, "v")
    assert lift_text.startswith("An operator (from Prefect) asked to lift containment of a "
                                "host. CrowdStrike Falcon found `web-01` · Linux · last seen ? "
                                "· contained.")
    assert lift_blocks[1]["elements"][0]["text"]["text"] == "Lift"


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (lambda m: m.host_already("contain", "web-01", "contained"),
         "`web-01` is already contained in CrowdStrike Falcon: nothing to contain."),
        (lambda m: m.host_already("lift", "web-01", "normal"),
         "`web-01` is already not contained in CrowdStrike Falcon: nothing to lift."),
        (lambda m: m.host_already("contain", "web-01", "containment_pending"),
         "`web-01` is already containment pending in CrowdStrike Falcon: nothing to contain."),
        (lambda m: m.host_confirmed("contain", "web-01", "<@U2>"),
         "<@U2> confirmed: asking CrowdStrike Falcon to contain `web-01`…"),
        (lambda m: m.host_confirmed("lift", "web-01", "van der Berg (U3)"),
         "van der Berg (U3) confirmed: asking CrowdStrike Falcon to lift containment of "
         "`web-01`…"),  # a name stays as its owner spells it
        (lambda m: m.host_confirmed("contain", "web-01", m.OPERATOR),
         "An operator (from Prefect) confirmed: asking CrowdStrike Falcon to contain `web-01`…"),
        (lambda m: m.host_cancelled("lift", "web-01", "Bob (U2)"),
         "Bob (U2) cancelled: `web-01` was not changed (no lift was requested)."),
        (lambda m: m.host_done("contain", "web-01", "contained"),
         "CrowdStrike Falcon reports `web-01` contained."),
        (lambda m: m.host_done("lift", "web-01", "lift_containment_pending"),
         "CrowdStrike Falcon accepted the request; `web-01` is lift of containment pending "
         "(the sensor completes it when it next checks in)."),
        (lambda m: m.host_action_failed("contain", "web-01", "Falcon is down."),
         "CrowdStrike Falcon did not contain `web-01`: Falcon is down."),
        (lambda m: m.lookup_failed("lift", "web-01", "no such host."),
         "Could not look up `web-01` to lift containment of it: no such host."),
        (lambda m: m.containment_comment("web-01", "Done."),
         "[CrowdStrike Falcon · web-01] Done."),
        (lambda m: m.lookup_comment("contain", "web-01", "Alice (U1)", HOST),
         "Alice (U1) asked via Slack to contain this host. Falcon found device "
         "abababababababababababababababab: `web-01` · Windows 11 · last seen "
         "2024-01-02T03:04:05Z · not contained. Awaiting confirmation."),
        (lambda m: m.falcon_auth_refused(401),
         "Falcon refused irbot's API client (HTTP 401). Whoever runs irbot should check "
         "FALCON_CLIENT_ID / FALCON_CLIENT_SECRET and FALCON_BASE_URL (`irbot check`)."),
        (lambda m: m.falcon_throttled(4), "Falcon is rate-limiting irbot (HTTP 429) and still "
         "was after 4 attempts. Nothing was changed; try again in a minute."),
        (lambda m: m.falcon_unavailable(502, 4), "Falcon is not answering (HTTP 502) after 4 "
         "attempts. Nothing was changed; try again shortly."),
        (lambda m: m.falcon_unavailable(0, 1), "Falcon is not answering (no answer) after 1 "
         "attempt. Nothing was changed; try again shortly."),
    ],
)
def test_containment_texts(built: Any, expected: str) -> None:
    from tasks import messages

    assert built(messages) == expected


def test_host_card_outcome_has_no_buttons() -> None:
    from tasks.messages import host_card_outcome

    assert host_card_outcome("done") == ("done", [
        {"type": "section", "text": {"type": "mrkdwn", "text": "done"}}])
