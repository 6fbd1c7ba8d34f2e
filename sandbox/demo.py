"""`irbot demo`: the whole incident story against the local emulators, narrated as a timeline.

It starts the sandbox (in this process), a private Prefect server and `irbot serve`, then plays
a responder's day with signed requests exactly as Slack sends them: create → chat → backup →
backup again → page → status → contain a host → archive cancelled → archive at the deadline.
Every line of the timeline says what was typed and what Slack, Jira, PagerDuty and Falcon
actually received, read back from the sandbox. No configuration is needed: everything points
at the emulators.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import httpx

from sandbox import demo_transcript
from sandbox.driver import Driver, Reply, SlackDriver, SocketDriver, form_values, wait_for
from sandbox.local import Sandbox
from sandbox.recording import RecordedRequest
from sandbox.stack import SIGNING_SECRET, LocalStack, ServeProcess, tail
from tasks.messages import ARCHIVE_CANCEL_ACTION, CONTAIN_CONFIRM_ACTION

T = TypeVar("T")

DEMO_DIR = Path(".irbot") / "demo"
ARCHIVE_DELAY_SECONDS = 8
# Generous: the machine may be busy with test suites. The happy path never waits this long.
WAIT_SECONDS = 60.0
PREFECT_PORT = 4200
TITLE = "Suspicious logins on VPN"
DEMO_HOST = "ws-alice-042"  # the laptop the suspicious VPN logins came from
BACKUP_OUTCOMES = ("Backup saved", "Nothing new", "Backup failed")


class DemoFailed(RuntimeError):
    """A step did not happen in time, or a process died: the demo cannot go on."""


class Interrupted(BaseException):
    """SIGTERM, turned into an exception so that the clean-up below still runs."""


# --- the timeline ------------------------------------------------------------------------


class Timeline:
    """One line per step with seconds since the start, details indented beneath it."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def step(self, actor: str, text: str) -> None:
        print(f"{self.elapsed():6.1f}s  {actor:<9} {text}", flush=True)

    def detail(self, label: str, text: object = "") -> None:
        lines = str(text).splitlines() or [""]
        print(f"{'':8}  {'':<9} {label:<13} {lines[0]}", flush=True)
        for line in lines[1:]:
            print(f"{'':8}  {'':<9} {'':<13} {line}", flush=True)

    def heading(self, text: str) -> None:
        print(f"\n{text}", flush=True)


def shorten(text: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# --- reading Slack markup and the sandbox's records ----------------------------------------

_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")


def channel_id_in(text: str) -> str:
    """The first `<#C…>` in a message."""
    found = _CHANNEL.search(text)
    if found is None:
        raise DemoFailed(f"no channel mentioned in {text!r}")
    return found.group(1)


def api_calls(records: list[RecordedRequest]) -> str:
    """'slack 12 (conversations.invite x4, …) · jira 3 (…)' for a slice of recorded requests."""
    parts = []
    for service in ("slack", "jira", "pagerduty"):
        names = Counter(r.name.replace("/rest/api/2/", "") for r in records
                        if r.service == service)
        if names:
            listed = ", ".join(f"{n} x{c}" if c > 1 else n for n, c in names.most_common())
            parts.append(f"{service} {sum(names.values())} ({listed})")
    return " · ".join(parts) or "none"


# --- the story -----------------------------------------------------------------------------


@dataclass
class Incident:
    key: str = ""
    channel: str = ""
    name: str = ""
    exec_channel: str = ""


@dataclass
class Story:
    """The responders' day, one method per step; each prints its part of the timeline."""

    sb: Sandbox
    driver: Driver
    serve: ServeProcess
    prefect_url: str
    tl: Timeline
    people: dict[str, str] = field(default_factory=dict)
    security: str = ""
    inc: Incident = field(default_factory=Incident)
    csv_path: Path = DEMO_DIR / "transcript.csv"
    restart_serve: Callable[[], ServeProcess] | None = None  # a deploy: stop, start again
    _mark: int = 0

    # helpers ------------------------------------------------------------------------------

    def wait(self, check: Callable[[], T | None], what: str,
             timeout: float = WAIT_SECONDS) -> T:
        """Poll the sandbox; fail fast (with the reason) if `irbot serve` died meanwhile."""
        def guarded() -> T | None:
            if not self.serve.alive():
                raise DemoFailed(f"irbot serve exited with {self.serve.returncode} "
                                 f"while waiting for {what}")
            return check()
        try:
            return wait_for(guarded, timeout=timeout, interval=0.1, what=what)
        except TimeoutError as exc:
            raise DemoFailed(str(exc)) from None

    def name_of(self, user: str) -> str:
        names = {v: k for k, v in self.people.items()} | {self.sb.bot_user_id: "irbot"}
        return names.get(user, user)

    def plain(self, text: str) -> str:
        """Slack markup as a person reads it: names for ids, dates' fallbacks, link texts."""
        text = _DATE.sub(lambda m: m.group(1), text)
        text = _USER.sub(lambda m: "@" + self.name_of(m.group(1)), text)
        text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or self.sb.channel(m.group(1))["name"]),
                            text)
        return _LINK.sub(lambda m: m.group(2), text).replace("*", "")

    def mark(self) -> None:
        """Start counting the vendor calls of a step."""
        self._mark = len(self.sb.requests())

    def show_calls(self) -> None:
        self.tl.detail("API calls", api_calls(self.sb.requests()[self._mark:]))

    def command(self, who: str, text: str, channel: str, channel_name: str) -> Reply:
        """`/irbot <text>` typed by `who`; the webhook must ack within Slack's 3 s."""
        reply = self.driver.command(text, self.people[who], channel, channel_name,
                                    user_name=who)
        if reply.status != 200:
            raise DemoFailed(f"/irbot {text}: webhook answered HTTP {reply.status}: {reply.body}")
        self.tl.step(who, f"/irbot {text}   (in #{channel_name}; acked in "
                          f"{reply.elapsed * 1000:.0f} ms)")
        return reply

    def in_incident(self, who: str, text: str) -> Reply:
        return self.command(who, text, self.inc.channel, self.inc.name)

    def answer(self, reply: Reply, what: str) -> str:
        """The webhook's later (ephemeral) answer on the command's response_url."""
        body = self.wait(lambda: next(iter(self.driver.answers(reply.response_url)), None), what)
        return str(body.get("text", ""))

    def bot_notices(self, prefix: str | tuple[str, ...]) -> list[dict[str, Any]]:
        """irbot's status notices (marked with metadata) in the incident channel."""
        return [m for m in self.sb.messages(self.inc.channel)
                if m.get("metadata") and str(m.get("text", "")).startswith(prefix)]

    def announcement(self, after_ts: str = "0") -> dict[str, Any]:
        """The newest archive announcement that still has its buttons."""
        def find() -> dict[str, Any] | None:
            messages: list[dict[str, Any]] = self.sb.messages(self.inc.channel)
            for msg in reversed(messages):
                if float(msg["ts"]) > float(after_ts) and any(
                        b.get("type") == "actions" for b in msg.get("blocks") or []):
                    return dict(msg)
            return None
        return self.wait(find, "the archive announcement")

    def message_at(self, ts: str) -> dict[str, Any]:
        return next(m for m in self.sb.messages(self.inc.channel) if m["ts"] == ts)

    def message_if(self, ts: str, words: str) -> dict[str, Any] | None:
        """The message at `ts` once its text contains `words` (e.g. after chat.update)."""
        msg: dict[str, Any] = self.message_at(ts)
        return msg if words in str(msg.get("text", "")) else None

    def transcript(self) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """The one transcript attachment on the case, and its rows."""
        files = [a for a in self.sb.jira_issue(self.inc.key)["attachments"]
                 if a["filename"].endswith(".csv")]
        if len(files) != 1:
            raise DemoFailed(f"expected one CSV on {self.inc.key}, found "
                             f"{[a['filename'] for a in files]}")
        rows = list(csv.DictReader(io.StringIO(files[0]["content"].decode("utf-8"))))
        return files[0], rows

    def wait_run(self, msg: dict[str, Any]) -> str:
        """Wait for the archive run behind an announcement (its buttons carry the run id)."""
        run_id = str(next(e["value"] for b in msg["blocks"] if b["type"] == "actions"
                          for e in b["elements"]))
        self.wait(lambda: self.run_state(run_id) == "COMPLETED", f"archive run {run_id}")
        return run_id

    def _state_block(self) -> httpx.Response | None:
        """The incident's state Block document (named as tasks.state.document_name does)."""
        name = f"incident-{self.inc.channel.lower()}"
        try:
            return httpx.get(f"{self.prefect_url}/api/block_types/slug/irbot-incident/"
                             f"block_documents/name/{name}", timeout=10)
        except httpx.HTTPError:
            return None

    def archive_marker_cleared(self) -> bool:
        resp = self._state_block()
        return (resp is not None and resp.status_code == 200
                and not resp.json()["data"].get("archive_flow_run_id"))

    def state_deleted(self) -> bool:
        resp = self._state_block()
        return resp is not None and resp.status_code == 404

    def run_state(self, run_id: str) -> str:
        try:
            resp = httpx.get(f"{self.prefect_url}/api/flow_runs/{run_id}", timeout=10)
            resp.raise_for_status()
        except httpx.HTTPError:
            return ""  # a busy SQLite server answers 503 now and then: ask again
        return str((resp.json().get("state") or {}).get("type") or "")

    # steps --------------------------------------------------------------------------------

    def seed(self) -> None:
        """Four people (dave has left the company) and the channel where incidents start."""
        self.people = {
            "alice": self.sb.add_user("alice", "Alice Liddell"),
            "bob": self.sb.add_user("bob", "Bob Builder"),
            "carol": self.sb.add_user("carol", "Carol Exec"),
            "dave": self.sb.add_user("dave", "Dave Gone", deleted=True),
        }
        self.security = self.sb.add_channel("security", members=list(self.people.values()))
        self.tl.step("seed", "Slack users alice, bob, carol (exec), dave (deactivated); "
                             "channel #security with all four")

    def help(self) -> None:
        reply = self.command("alice", "help", self.security, "security")
        lines = self.plain(reply.text).splitlines()
        self.tl.detail("answer", "\n".join(lines[:4]) + f"\n… ({len(lines)} lines)")

    def create(self) -> None:
        self.mark()
        reply = self.command("alice", "create", self.security, "security")
        view = self.driver.opened_view(reply.trigger_id, timeout=WAIT_SECONDS)
        self.tl.detail("slack", f"modal \"{view['title']['text']}\" opened "
                                f"(views.open with the command's trigger_id)")
        p = self.people
        values = form_values(view, {"people": [p["bob"], p["dave"]], "title": TITLE,
                                    "severity": "SEV-2", "new_case": True,
                                    "exec_channel": True, "exec_people": [p["carol"]]})
        before = {e["message_ts"] for e in self.sb.ephemerals}
        submitted = time.monotonic()
        answer = self.driver.submit(view, values, p["alice"])
        if answer.status != 200 or answer.body not in ("", {}):
            raise DemoFailed(f"the form was refused: {answer.status} {answer.body}")
        self.tl.step("alice", f"submits: invite bob + dave, \"{TITLE}\", SEV-2, "
                              "create new case, exec channel with carol")
        def outcome(e: dict[str, Any]) -> bool:
            # The flow ends by telling the requester, whether it worked or not.
            return (e["message_ts"] not in before and e["user"] == p["alice"]
                    and ("is ready: <#" in e["text"] or e["text"].startswith("Could not")))
        ready = self.wait(lambda: next(filter(outcome, self.sb.ephemerals), None),
                          "the incident to be ready")
        if "is ready: <#" not in ready["text"]:
            raise DemoFailed(f"the incident was not created: {self.plain(ready['text'])}")
        took = time.monotonic() - submitted
        self.inc.channel = channel_id_in(ready["text"])
        channel = self.sb.channel(self.inc.channel)
        self.inc.name = channel["name"]
        self.inc.key = self.inc.name.removeprefix("incident_channel_").upper()
        self.tl.step("slack", f"ephemeral to alice, {took:.1f} s after submit: "
                              f"{self.plain(ready['text'])}")
        issue = self.sb.jira_issue(self.inc.key)
        self.tl.detail("jira issue",
                       f"{issue['key']} \"{issue['summary']}\" ({issue['issuetype']})")
        self.tl.detail("channel", f"#{channel['name']}  topic: {channel['topic']}")
        exec_ch = self.sb.channel_by_name(self.inc.name + "_exec")
        if exec_ch is None:
            raise DemoFailed("the executive channel was not created")
        self.inc.exec_channel = exec_ch["id"]
        members = ", ".join(self.name_of(u) for u in exec_ch["members"])
        self.tl.detail("exec channel", f"#{exec_ch['name']}  members: {members}")
        members = ", ".join(self.name_of(u) for u in channel["members"])
        self.tl.detail("members", f"#{channel['name']}: {members}")
        missing = [n for n in ("bob", "dave") if p[n] not in channel["members"]]
        self.tl.detail("not invited", ", ".join(missing) + " (deactivated in Slack; irbot said so "
                       "above)" if missing else "nobody")
        for comment in issue["comments"]:
            self.tl.detail("jira comment", comment)
        self.show_calls()

    def chat(self) -> dict[str, str]:
        """What responders say (ts → text); deliberately awkward content for the transcript."""
        a, b, ch = self.people["alice"], self.people["bob"], self.inc.channel
        opening = "Spike of failed VPN logins since 09:40 :eyes:"
        first = self.sb.post_message(ch, a, opening)
        posted = {first: opening}
        lines = [
            (b, "Same here. Source IPs mostly from one ASN."),
            (a, f"<@{b}> can you pull the auth logs?"),
            (b, "=HYPERLINK(\"http://evil.example\",\"click\")  <- that was in a username field"),
            (a, "+1 on blocking the ASN at the edge"),
            (b, "Logs pulled, 3,412 failures, 12 successes :fire:"),
            (a, "Resetting the 12 accounts now ✅"),
        ]
        for user, text in lines:
            posted[self.sb.post_message(ch, user, text)] = text
        reply = "Thread: the 12 are all contractors"
        posted[self.sb.post_message(ch, b, reply, thread_ts=first)] = reply
        posted |= demo_transcript.enrich(self.sb, ch, self.people, first)
        self.tl.step("chat", f"alice and bob post {len(posted)} messages in "
                             f"#{self.inc.name} (a thread reply, a mention, '=…', '+1', emoji, "
                             "a screenshot, a pasted AWS key); bob flags the first with "
                             ":pushpin:, alice pins the screenshot")
        return posted

    def backup(self, who: str) -> str:
        """Run `/irbot backup` and wait for its outcome notice in the channel."""
        self.mark()
        done = len(self.bot_notices(BACKUP_OUTCOMES))
        reply = self.in_incident(who, "backup")
        self.tl.detail("answer", self.plain(self.answer(reply, "the backup acknowledgement")))
        notice = self.wait(lambda: self.bot_notices(BACKUP_OUTCOMES)[done:][:1] or None,
                           "the backup's outcome in the channel")[0]
        if not notice["text"].startswith("Backup saved"):
            raise DemoFailed(f"the backup did not save anything: {notice['text']}")
        self.tl.step("slack", f"irbot in #{self.inc.name}: {notice['text']}")
        return str(notice["text"])

    def first_backup(self, posted: dict[str, str]) -> set[str]:
        self.backup("alice")
        attachment, rows = self.transcript()
        kept = {r["ts"] for r in rows}
        for ts, text in posted.items():
            if ts not in kept:
                self.tl.detail("not in CSV", f"{text!r} (posted, but not in the transcript)")
        self.csv_path.write_bytes(attachment["content"])
        self.tl.detail("jira file", f"{attachment['filename']} ({attachment['size']} bytes)")
        self.tl.detail("content URL", attachment["content_url"])
        self.tl.detail("saved as", self.csv_path)
        table = [f"{'user_name':<9} {'subtype':<13} text"]
        table += [f"{r['user_name']:<9} {r['subtype']:<13} {shorten(r['text'], 60)}"
                  for r in rows[:6]]
        self.tl.detail("first rows", "\n".join(table) + f"\n… ({len(rows)} rows)")
        self.show_calls()
        return {r["ts"] for r in rows}

    def second_backup(self, before: set[str]) -> None:
        ch, b = self.inc.channel, self.people["bob"]
        for text in ("Edge block deployed for the ASN", "Failures dropped to zero",
                     "Monitoring for another hour"):
            self.sb.post_message(ch, b, text)
        self.tl.step("chat", "bob posts 3 more messages")
        said = {str(m.get("text")): str(m["ts"]) for m in self.sb.messages(ch)}
        demo_transcript.change_after_backup(
            self.sb, ch, said["Logs pulled, 3,412 failures, 12 successes :fire:"],
            said["+1 on blocking the ASN at the edge"], self.tl)
        self.backup("bob")
        attachment, rows = self.transcript()
        added = [r for r in rows if r["ts"] not in before]
        for r in added:
            self.tl.detail("appended", f"{r['user_name']}: {r['text']}")
        issue = self.sb.jira_issue(self.inc.key)
        comments = sum("SHA-256" in c for c in issue["comments"])
        self.tl.detail("jira", f"still exactly one CSV ({attachment['filename']}, "
                               f"{len(rows)} rows); {comments} backup comments")
        demo_transcript.show(rows, issue, self.tl)
        self.csv_path.write_bytes(attachment["content"])
        self.show_calls()

    def socket_refresh(self) -> None:
        """Slack's periodic refresh: the socket is asked to go, irbot opens a new one."""
        sb = self.sb
        opened = sb.socket_status()["opened"]
        asked = time.monotonic()
        sb.socket_disconnect("refresh_requested")
        self.tl.step("slack", "asks irbot's socket to go away (disconnect: refresh_requested)")
        self.wait(lambda: sb.socket_status()["opened"] > opened and sb.wait_socket(1, 0.1),
                  "irbot to open a new Socket Mode connection")
        self.tl.detail("irbot", f"new connection open {time.monotonic() - asked:.1f} s later "
                                "(apps.connections.open, then hello); the story goes on")

    def page(self) -> None:
        self.mark()
        before = len(self.sb.pagerduty_events)
        reply = self.in_incident("alice", 'page engineering "VPN auth failing"')
        self.tl.detail("answer", self.plain(self.answer(reply, "the page acknowledgement")))
        event = self.wait(lambda: self.sb.pagerduty_events[before:][:1] or None,
                          "the PagerDuty event")[0]
        payload = event["payload"]
        self.tl.step("pagerduty", f"event {event['event_action']}: dedup_key "
                                  f"{event['dedup_key']}, severity {payload['severity']}")
        self.tl.detail("summary", payload["summary"])
        note = self.wait(lambda: next((m for m in self.sb.messages(self.inc.channel)
                                       if "paged" in str(m.get("text", ""))), None),
                         "the page note in the channel")
        self.tl.detail("channel note", self.plain(note["text"]))
        self.show_calls()

    def posted(self, channel: str, needle: str, what: str) -> dict[str, Any]:
        """irbot's message in `channel` whose text holds `needle`."""
        return self.wait(lambda: next((m for m in self.sb.messages(channel)
                                       if needle in str(m.get("text", ""))), None), what)

    def run_the_incident(self) -> None:
        """Commander → update → handover: each one flow run, one line of the timeline."""
        self.mark()
        p, ch = self.people, self.inc.channel
        self.in_incident("alice", f"commander <@{p['alice']}|alice>")
        note = self.posted(ch, "is now the incident commander", "the commander notice")
        self.tl.detail("channel", self.plain(note["text"]))
        self.in_incident("alice", "update VPN auth restored for 80% of users; watching")
        mirrored = self.posted(self.inc.exec_channel, "status update", "the mirrored update")
        self.tl.detail("exec channel", self.plain(mirrored["text"]))
        reply = self.in_incident("alice", "handover")
        view = self.driver.opened_view(reply.trigger_id, timeout=WAIT_SECONDS)
        answer = self.driver.submit(view, form_values(view, {
            "known": "Expired IdP certificate", "in_progress": "Rolling out the new one",
            "actions": "Post-mortem on Monday", "next_commander": p["bob"]}), p["alice"])
        if answer.status != 200 or answer.body not in ("", {}):
            raise DemoFailed(f"the handover form was refused: {answer.status} {answer.body}")
        handover = self.posted(ch, "takes command", "the handover message")
        self.tl.detail("channel", self.plain(handover["text"]))
        self.show_calls()

    def contain(self) -> None:
        """alice asks Falcon to contain a laptop; bob, the commander since the handover,
        confirms on the card."""
        device = self.sb.add_host(DEMO_HOST, platform_name="Windows", os_version="Windows 11",
                                  last_seen=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self.in_incident("alice", f"contain {DEMO_HOST}")
        card = self.wait(lambda: next((m for m in self.sb.messages(self.inc.channel)
                                       if any(b.get("block_id") == "irbot_contain"
                                              for b in m.get("blocks") or [])), None),
                         "the host card")
        asked = time.monotonic()
        self.driver.click(self.inc.channel, card, CONTAIN_CONFIRM_ACTION, self.people["bob"])
        done = self.wait(lambda: next((m for m in self.sb.messages(self.inc.channel)
                                       if "CrowdStrike Falcon reports" in str(m.get("text"))
                                       or "accepted the request" in str(m.get("text"))), None),
                         "Falcon's answer in the channel")
        actions = [a["action"] for a in self.sb.falcon_actions() if a["device_id"] == device]
        self.tl.step("falcon", f"card shown, bob (commander) clicked Contain; Falcon got "
                               f"{', '.join(actions)} for device {device[:8]}…, "
                               f"{time.monotonic() - asked:.1f} s later: "
                               f"{self.plain(done['text'])} (channel and Jira told)")

    def status(self) -> None:
        reply = self.in_incident("bob", "status")
        self.tl.detail("answer", self.plain(self.answer(reply, "the status answer")))

    def archive_cancelled(self) -> str:
        self.in_incident("alice", "archive")
        msg = self.announcement()
        buttons = [e["text"]["text"] for b in msg["blocks"] if b["type"] == "actions"
                   for e in b["elements"]]
        self.tl.step("slack", f"irbot announces: {self.plain(msg['text'])}")
        self.tl.detail("buttons", " | ".join(buttons))
        cancel = next(e["text"]["text"] for b in msg["blocks"] if b["type"] == "actions"
                      for e in b["elements"] if e["action_id"] == ARCHIVE_CANCEL_ACTION)
        click = self.driver.click(self.inc.channel, msg, ARCHIVE_CANCEL_ACTION,
                                  self.people["bob"])
        if click.status != 200:
            raise DemoFailed(f"the click was refused: HTTP {click.status} {click.body}")
        self.tl.step("bob", f"clicks \"{cancel}\" (acked in {click.elapsed * 1000:.0f} ms)")
        updated = self.wait(lambda: self.message_if(msg["ts"], "cancelled by"),
                            "the announcement to say cancelled")
        self.tl.step("slack", f"announcement updated: {self.plain(updated['text'])}")
        # The run updates the announcement, then clears its pending-archive marker; until then a
        # new `/irbot archive` is (rightly) refused as "already pending".
        self.wait(self.archive_marker_cleared, "the pending-archive marker to be cleared")
        self.tl.detail("prefect", f"state block: pending archive cleared; channel still open: "
                                  f"{not self.sb.channel(self.inc.channel)['is_archived']}")
        return str(msg["ts"])

    def archive_for_real(self, cancelled_ts: str) -> None:
        self.mark()
        backups = len(self.bot_notices(BACKUP_OUTCOMES))
        self.in_incident("alice", "archive")
        msg = self.announcement(after_ts=cancelled_ts)
        announced = time.monotonic()
        self.tl.step("slack", f"irbot announces: {self.plain(msg['text'])}")
        late = self.sb.post_message(self.inc.channel, self.people["bob"],
                                    "Last word before the archive: root cause was a leaked "
                                    "contractor password list")
        self.tl.step("bob", "posts during the wait: \"Last word before the archive: …\"")
        self.restart_during_the_wait(msg)
        self.wait(lambda: self.sb.channel(self.inc.channel)["is_archived"],
                  "the incident channel to be archived", timeout=WAIT_SECONDS + 30)
        self.tl.step("slack", f"#{self.inc.name} archived "
                              f"{time.monotonic() - announced:.1f} s after the announcement "
                              f"(deadline {ARCHIVE_DELAY_SECONDS} s)")
        self.tl.detail("exec channel", "archived" if self.sb.channel(self.inc.exec_channel)
                       ["is_archived"] else "NOT archived")
        self.tl.detail("announcement", self.plain(self.message_at(msg["ts"])["text"]))
        for notice in self.bot_notices(BACKUP_OUTCOMES)[backups:]:
            self.tl.detail("final backup", notice["text"])
        _, rows = self.transcript()
        last = next((r for r in rows if r["ts"] == late), None)
        if last is None:
            raise DemoFailed("the message posted during the wait is not in the final transcript")
        self.tl.detail("transcript", f"{len(rows)} rows; includes bob's last word "
                                     f"(ts {late})")
        comment = self.wait(lambda: next((c for c in self.sb.jira_issue(self.inc.key)["comments"]
                                          if "archived" in c), None), "the Jira archive comment")
        self.tl.detail("jira comment", comment)
        demo_transcript.final_comments(self.sb.jira_issue(self.inc.key), self.tl)
        self.csv_path.write_bytes(self.transcript()[0]["content"])
        run_id = self.wait_run(msg)
        self.wait(self.state_deleted, "the incident's state block to be deleted")
        self.tl.detail("prefect", f"archive run {run_id[:8]}… Completed; incident state block "
                                  "deleted")
        self.show_calls()
        reply = self.in_incident("alice", "backup")
        self.tl.detail("answer", self.plain(self.answer(reply, "the answer after archiving")))

    def restart_during_the_wait(self, msg: dict[str, Any]) -> None:
        """A deploy mid-incident: the pending archive is suspended in Prefect, not in a process,
        so stopping `irbot serve` loses nothing and the new one picks the story up."""
        if self.restart_serve is None:
            return
        run_id = str(next(e["value"] for b in msg["blocks"] if b["type"] == "actions"
                          for e in b["elements"]))
        self.wait(lambda: self.run_state(run_id) == "PAUSED", "the archive run to be suspended")
        self.tl.step("operator", "restarts irbot serve during the wait (a deploy)")
        stopped = time.monotonic()
        self.serve.stop()
        self.tl.detail("prefect", f"archive run {run_id[:8]}… is {self.run_state(run_id)} "
                                  "in Prefect with irbot stopped: no process holds it")
        self.serve = self.restart_serve()
        self.tl.step("setup", f"irbot serve is back after {time.monotonic() - stopped:.1f} s")

    def prefect_runs(self) -> None:
        """Every flow run of the story, with a link into the local Prefect UI."""
        with httpx.Client(base_url=f"{self.prefect_url}/api", timeout=10) as api:
            flows = {f["id"]: f["name"] for f in
                     api.post("/flows/filter", json={}).raise_for_status().json()}
            runs = api.post("/flow_runs/filter", json={
                "sort": "EXPECTED_START_TIME_ASC", "limit": 50}).raise_for_status().json()
        self.tl.heading(f"PREFECT RUNS ({len(runs)}), UI at {self.prefect_url}")
        for run in runs:
            state = (run.get("state") or {}).get("name", "?")
            print(f"  {flows.get(run['flow_id'], '?'):<17} {run['name']:<24} {state:<10} "
                  f"{self.prefect_url}/runs/flow-run/{run['id']}")


# --- running it ----------------------------------------------------------------------------


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Interrupted


def play(story: Story, socket_mode: bool = False) -> None:
    """The story in order; each step relies on the ones before it."""
    say = story.tl.heading
    say("── a. help")
    story.help()
    say("── b. create an incident")
    story.create()
    say("── c. talk, then back up")
    first = story.first_backup(story.chat())
    say("── d. back up again: only what is new")
    story.second_backup(first)
    if socket_mode:
        say("── Slack refreshes the socket")
        story.socket_refresh()
    say("── e. page a team")
    story.page()
    say("── f. run the incident: commander, update, handover")
    story.run_the_incident()
    say("── g. contain a host (CrowdStrike Falcon)")
    story.contain()
    say("── h. status")
    story.status()
    say("── i. archive, cancelled")
    cancelled = story.archive_cancelled()
    say(f"── j. archive at the deadline ({ARCHIVE_DELAY_SECONDS} s), irbot restarted meanwhile")
    story.archive_for_real(cancelled)
    story.prefect_runs()


def keep_running(serve: ServeProcess, prefect_url: str, webhook: str, sb: Sandbox) -> None:
    """`--keep`: everything stays up for clicking through the runs, until Ctrl-C."""
    print(f"\nStill running: Prefect UI {prefect_url}  ·  irbot serve {webhook}  ·  sandbox "
          f"{sb.url} (Slack API {sb.slack_api_url})")
    print("Press Ctrl-C to stop.", flush=True)
    # A launcher may have started us with SIGINT ignored (a `&` job): Ctrl-C must still work.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while serve.alive():
            time.sleep(0.5)
        print(f"demo: irbot serve exited with {serve.returncode}", file=sys.stderr)
    except (KeyboardInterrupt, Interrupted):
        pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="irbot demo", description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true",
                        help="leave the sandbox, Prefect and irbot serve running afterwards")
    parser.add_argument("--socket-mode", action="store_true",
                        help="irbot reaches the sandbox's Slack over Socket Mode")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    tl = Timeline()
    print("TIMELINE (seconds since start)", flush=True)
    # Fresh each run (no state from last time); its Prefect server prefers the usual port.
    stack = LocalStack(DEMO_DIR, ARCHIVE_DELAY_SECONDS, PREFECT_PORT, args.socket_mode)
    sb = stack.sandbox
    code = 1
    try:
        stack.start()
        assert stack.serve is not None
        serve, webhook, prefect_url = stack.serve, stack.webhook_url, stack.prefect_url
        tl.step("setup", f"sandbox: Slack, Jira, PagerDuty and Falcon emulators on {sb.url}")
        tl.step("setup", f"Prefect server healthy: {prefect_url} (log {stack.prefect_log})")
        driver: Driver
        if args.socket_mode:
            tl.step("setup", f"irbot serve ready in Socket Mode: connected to the sandbox's Slack "
                             f"over a WebSocket; health at {webhook}/health (log "
                             f"{serve.log_path})")
            driver = SocketDriver(sb)
        else:
            tl.step("setup", f"irbot serve ready: {webhook}/slack/events (log {serve.log_path})")
            driver = SlackDriver(webhook, SIGNING_SECRET, sb)

        def restart() -> ServeProcess:
            serve.start()  # the same port and log, as a deploy would
            return serve

        story = Story(sb, driver, serve, prefect_url, tl, restart_serve=restart)
        try:
            story.seed()
            play(story, args.socket_mode)
        finally:
            story.driver.close()
        print(f"\nTranscript CSV: {story.csv_path.resolve()}")
        logs = [stack.prefect_log.resolve(), stack.serve_log.resolve()]
        print("Logs: " + "\n      ".join(str(p) for p in logs))
        print(f"Demo finished in {tl.elapsed():.1f} s.")
        if args.keep:
            keep_running(serve, prefect_url, webhook, sb)
        else:
            prefect_cli = Path(sys.executable).with_name("prefect")
            print(f"Browse the runs: `irbot demo --keep`, or afterwards PREFECT_HOME="
                  f"{stack.prefect_home.resolve()} {prefect_cli} server start --port "
                  f"{prefect_url.rsplit(':', 1)[1]}")
        code = 0
    except (DemoFailed, RuntimeError, httpx.HTTPError) as exc:
        print(f"\ndemo FAILED after {tl.elapsed():.1f} s: {exc}", file=sys.stderr)
        newest = stack.newest_log()
        print(f"--- last lines of {newest} ---\n{tail(newest)}", file=sys.stderr)
    except (KeyboardInterrupt, Interrupted):
        print("\ndemo interrupted; shutting down", file=sys.stderr)
        code = 130
    finally:
        # Let the clean-up finish (it is bounded by the grace periods) even on a second Ctrl-C.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stopping = time.monotonic()
        stack.stop()
        print(f"Stopped irbot serve, the Prefect server and the sandbox in "
              f"{time.monotonic() - stopping:.1f} s.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
