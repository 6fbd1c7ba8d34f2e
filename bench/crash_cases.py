"""The crash matrix's three flows: the incident each case gets, the action that starts the
flow, and what Slack and Jira must hold once the flow converged.

Each `*_problems` function lists what is still wrong (empty: converged), so the matrix can poll
it until it is empty and report the last list when it never is.
Prefect is imported lazily: the caller points PREFECT_API_URL at the stack first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.backup_cost import open_incident
from sandbox.driver import SlackDriver, form_values, wait_for
from sandbox.local import Sandbox
from tasks.messages import ARCHIVE_NOW_ACTION, NOTICE_EVENT_TYPE
from tasks.transcript import read_csv

NOTICE_TIMEOUT = 180.0  # a setup backup or archive, with the machine busy with the others


@dataclass(frozen=True)
class People:
    alice: str  # opens incidents, asks for archives
    bob: str  # asks for backups, clicks Archive now
    carol: str  # speaks only after the first backup: new to the transcript
    origin: str  # the channel `/irbot create` is typed in

    @classmethod
    def seed(cls, sb: Sandbox) -> People:
        alice, bob, carol = (sb.add_user(n, n.title()) for n in ("alice", "bob", "carol"))
        return cls(alice, bob, carol, sb.add_channel("security", [alice, bob, carol]))


@dataclass(frozen=True)
class Incident:
    key: str
    channel_id: str

    @property
    def name(self) -> str:
        return f"incident_channel_{self.key.lower()}"


def new_incident(sb: Sandbox, people: People) -> Incident:
    """An open incident with a conversation: two messages and a thread with one reply."""
    key, channel = open_incident(sb, [people.alice, people.bob, people.carol], 4)
    sb.post_message(channel, people.alice, "seeing 502s on the checkout API")
    parent = sb.post_message(channel, people.bob, "load balancer health checks failing")
    sb.post_message(channel, people.alice, "which pool?", thread_ts=parent)
    sb.post_message(channel, people.bob, "rolling back release 42")
    return Incident(key, channel)


def more_conversation(sb: Sandbox, people: People, inc: Incident) -> None:
    """What is said between two backups: a new person, a reply to an old thread."""
    parent = sb.messages(inc.channel_id)[1]["ts"]
    sb.post_message(inc.channel_id, people.carol, "customer comms drafted")
    sb.post_message(inc.channel_id, people.carol, "pool eu-2", thread_ts=parent)
    sb.post_message(inc.channel_id, people.bob, "=error rate back to 0.1%")


# --- actions: each makes the runner start exactly one flow-run process -----------------

def ask_backup(driver: SlackDriver, user: str, inc: Incident) -> None:
    assert driver.command("backup", user, inc.channel_id, inc.name).status == 200


def ask_archive(driver: SlackDriver, user: str, inc: Incident) -> None:
    assert driver.command("archive", user, inc.channel_id, inc.name).status == 200


def submit_create(driver: SlackDriver, people: People, title: str) -> None:
    reply = driver.command("create", people.alice, people.origin, "security")
    view = driver.opened_view(reply.trigger_id, timeout=30)
    values = form_values(view, {"people": [people.bob], "title": title, "severity": "SEV-3",
                                "new_case": True})
    assert driver.submit(view, values, people.alice).status == 200


def click_archive_now(driver: SlackDriver, sb: Sandbox, people: People, inc: Incident) -> None:
    assert driver.click(inc.channel_id, announcement(sb, inc), ARCHIVE_NOW_ACTION,
                        people.bob).status == 200


# --- what Slack and Jira hold ----------------------------------------------------------

def own_posts(sb: Sandbox, channel: str) -> list[str]:
    """irbot's marked posts (notices, announcement, welcome), oldest first."""
    return [str(m.get("text") or "") for m in sb.messages(channel)
            if (m.get("metadata") or {}).get("event_type") == NOTICE_EVENT_TYPE]


def announcement(sb: Sandbox, inc: Incident, timeout: float = 0) -> dict[str, Any]:
    """The archive announcement while it still has its buttons."""
    return wait_for(lambda: next((m for m in sb.messages(inc.channel_id)
                                  if any(b.get("type") == "actions"
                                         for b in m.get("blocks") or [])), None),
                    timeout=timeout or NOTICE_TIMEOUT, interval=0.3,
                    what="the archive announcement")


def run_id_of(message: dict[str, Any]) -> str:
    """The archive run an announcement's buttons resume (their value)."""
    return str(next(e["value"] for b in message.get("blocks") or []
                    if b.get("type") == "actions" for e in b.get("elements") or []))


def wait_backup_saved(sb: Sandbox, inc: Incident, count: int) -> None:
    wait_for(lambda: sum(t.startswith("Backup saved") for t in own_posts(sb, inc.channel_id))
             >= count, timeout=NOTICE_TIMEOUT, interval=0.5, what=f"{inc.key}'s backup")


def conversation(sb: Sandbox, channel: str) -> set[str]:
    """The ts of every message and reply people posted: the transcript's rows, once each."""
    return {str(m["ts"]) for m in sb.messages(channel, include_replies=True)
            if not m.get("metadata") and m.get("user") != sb.bot_user_id}


def comments(sb: Sandbox, key: str, needle: str) -> int:
    return sum(needle in c for c in sb.jira_issue(key)["comments"])


def count_problem(what: str, found: int, wanted: int) -> list[str]:
    return [] if found == wanted else [f"{found} {what} (want {wanted})"]


def transcript_problems(sb: Sandbox, inc: Incident) -> list[str]:
    """One CSV on the case, holding every message people posted exactly once."""
    files = [a for a in sb.jira_issue(inc.key)["attachments"]
             if a["filename"].endswith(".csv")]
    if len(files) != 1:
        return [f"{len(files)} transcript CSVs"]
    rows = read_csv(files[0]["content"])["ts"].tolist()
    wanted = conversation(sb, inc.channel_id)
    problems = [f"{len(wanted - set(rows))} messages missing"] if wanted - set(rows) else []
    if len(rows) != len(set(rows)):
        problems.append(f"{len(rows) - len(set(rows))} rows duplicated")
    return problems + ([f"{len(set(rows) - wanted)} unknown rows"] if set(rows) - wanted else [])


def backup_problems(sb: Sandbox, inc: Incident) -> list[str]:
    """After a first backup and the crashed one: both recorded once, in Slack and Jira."""
    from tasks.state import load_incident

    posts = own_posts(sb, inc.channel_id)
    problems = transcript_problems(sb, inc)
    problems += count_problem("backup comments", comments(sb, inc.key, "SHA-256"), 2)
    problems += count_problem("'Backup saved'", sum(p.startswith("Backup saved")
                                                     for p in posts), 2)
    problems += count_problem("'Backup to … requested'", sum(p.startswith("Backup to ")
                                                            for p in posts), 2)
    problems += [f"other notice: {p[:40]!r}" for p in posts
                 if not p.startswith(("Backup saved", "Backup to "))]
    counted = load_incident(inc.channel_id).message_count
    return problems + count_problem("messages counted in the state", counted,
                                    len(conversation(sb, inc.channel_id)))


def archive_problems(sb: Sandbox, inc: Incident) -> list[str]:
    """Archived after one announcement and one complete final backup; the state is gone."""
    from tasks.state import find_incident

    problems = [] if sb.channel(inc.channel_id)["is_archived"] else ["channel not archived"]
    posts = own_posts(sb, inc.channel_id)
    announced = sum("asked to archive" in p or p.startswith(("Archiving now", "Final backup"))
                     for p in posts)
    problems += count_problem("announcements", announced, 1)
    problems += transcript_problems(sb, inc)
    problems += count_problem("backup comments", comments(sb, inc.key, "SHA-256"), 1)
    problems += count_problem("final-backup checks", comments(sb, inc.key, "final backup"), 1)
    problems += count_problem("archive comments", comments(sb, inc.key, "irbot archived"), 1)
    return problems + (["incident state still there"] if find_incident(inc.channel_id) else [])


def create_problems(sb: Sandbox, people: People, title: str) -> list[str]:
    """One case, one described channel, the state, the requester told once, one welcome."""
    from tasks.state import find_incident

    issues = [i["key"] for i in sb.jira_issues() if i["summary"] == title]
    if len(issues) != 1:
        return [f"{len(issues)} Jira cases"]
    inc = Incident(issues[0], "")
    channel = sb.channel_by_name(inc.name)
    if channel is None:
        return ["no channel"]
    problems = [] if inc.key in str(channel.get("topic")) else ["topic lacks the case"]
    if people.bob not in channel.get("members", []):
        problems.append("invitee not in the channel")
    state = find_incident(channel["id"])
    if state is None or state.case_key != inc.key:
        problems.append("no incident state")
    told = sum(e["user"] == people.alice and f"{inc.key} is ready" in e["text"]
               for e in sb.ephemerals)
    problems += count_problem("'is ready' answers", told, 1)
    welcomes = sum(p.startswith("Incident channel for") for p in own_posts(sb, channel["id"]))
    problems += count_problem("welcomes", welcomes, 1)
    return problems + count_problem("channel comments",
                                    comments(sb, inc.key, "Slack incident channels"), 1)
