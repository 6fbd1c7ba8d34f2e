"""Everything the sandbox knows, behind one lock, and the operations tests use to seed it.

The HTTP handlers and these operations run on different threads (uvicorn's loop thread and the
test's thread), so every read or write of the stores happens while holding `lock`.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, replace
from typing import Any

from sandbox import peers, slack_changes
from sandbox.crash import CrashBook, CrashFault, CrashRecord, CrashService, When
from sandbox.falcon_store import FalconStore
from sandbox.faults import Fault, FaultBook, Service
from sandbox.jira_store import PERMISSIONS, JiraStore
from sandbox.recording import RecordedRequest
from sandbox.slack_store import Channel, Message, Workspace
from sandbox.socket_mode import SocketHub
from sandbox.throttle import Throttles


@dataclass(frozen=True)
class Credentials:
    bot_token: str
    jira_user: str
    jira_token: str
    app_token: str = ""  # Socket Mode's app-level token (xapp-…)
    falcon_client_id: str = "falcon-sandbox-client"
    falcon_client_secret: str = "falcon-sandbox-secret"


class SandboxState:
    def __init__(
        self, *, credentials: Credentials, jira_projects: tuple[str, ...], team_id: str,
        bot_user_id: str, bot_id: str, app_id: str, bot_scopes: tuple[str, ...],
        jira_permissions: tuple[str, ...] = PERMISSIONS,
    ) -> None:
        self.lock = threading.Lock()
        self.credentials = credentials
        # What Slack reports in x-oauth-scopes for the bot token (a test may leave one out).
        self.bot_scopes = bot_scopes
        self.slack = Workspace(team_id=team_id, bot_user_id=bot_user_id, bot_id=bot_id,
                               app_id=app_id)
        self.jira = JiraStore(jira_projects, credentials.jira_user, jira_permissions)
        self.pagerduty_events: list[dict[str, Any]] = []
        self.falcon = FalconStore(credentials.falcon_client_id, credentials.falcon_client_secret)
        self.faults = FaultBook()
        self.crash_faults = CrashBook()
        self.throttles = Throttles()
        self.recorded: list[RecordedRequest] = []
        self.socket = SocketHub(app_id)  # Socket Mode (its own lock: sends wait on the loop)
        self.base_url = ""  # "http://127.0.0.1:PORT", known once the server is bound

    @property
    def jira_url(self) -> str:
        return f"{self.base_url}/jira"

    # --- recording ---------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.recorded.append(request)

    def requests(self, service: str | None = None,
                 name: str | None = None) -> list[RecordedRequest]:
        with self.lock:
            return [
                r for r in self.recorded
                if (service is None or r.service == service) and (name is None or r.name == name)
            ]

    def reset_requests(self) -> None:
        """Forget what was received, crashes included (pending faults stay)."""
        with self.lock:
            self.recorded.clear()
            self.crash_faults.fired.clear()

    def record_crash(self, record: CrashRecord) -> None:
        with self.lock:
            self.crash_faults.fired.append(record)

    def crashes(self) -> list[CrashRecord]:
        with self.lock:
            return list(self.crash_faults.fired)

    def pending_crashes(self) -> list[CrashFault]:
        with self.lock:
            return [replace(f) for f in self.crash_faults.pending()]

    def inject_fault(
        self, service: Service, target: str, status: int, times: int = 1,
        retry_after: int | None = None, body: dict[str, Any] | None = None,
    ) -> None:
        with self.lock:
            self.faults.add(Fault(service, target, status, times, retry_after, body))

    def inject_crash(self, service: CrashService, target: str, at_call: int,
                     when: When = "before", from_pid: int | None = None) -> None:
        peers.require_psutil()
        with self.lock:
            self.crash_faults.add(CrashFault(service, target, at_call, when, from_pid))

    def throttle(self, method: str, limit: int, window_seconds: float = 60.0) -> None:
        with self.lock:
            self.throttles.set(method, limit, window_seconds)

    # --- seeding Slack -----------------------------------------------------------------

    def add_user(self, name: str, real_name: str | None = None, deleted: bool = False,
                 is_bot: bool = False) -> str:
        with self.lock:
            return self.slack.add_user(name, real_name, deleted=deleted, is_bot=is_bot).id

    def add_channel(self, name: str, members: list[str] | tuple[str, ...] = (),
                    is_private: bool = False, bot_is_member: bool = True,
                    creator: str | None = None) -> str:
        with self.lock:
            return self.slack.add_channel(name, list(members), is_private=is_private,
                                          bot_is_member=bot_is_member, creator=creator).id

    def clear_faults(self) -> None:
        """Back to normal service: pending faults, crash faults and throttles all dropped."""
        with self.lock:
            self.faults.clear()
            self.crash_faults.clear()
            self.throttles.clear()

    def post_message(self, channel: str, user: str, text: str, thread_ts: str | None = None,
                     reply_broadcast: bool = False) -> str:
        with self.lock:
            ch = self._channel(channel)
            if user not in self.slack.users:
                raise ValueError(f"unknown user {user!r}")
            self._check_thread(ch.by_ts, thread_ts)
            message: Message = {"type": "message", "user": user, "text": text,
                       "team": self.slack.team_id}
            stored = self.slack.append(ch, message, thread_ts=thread_ts,
                                       broadcast=reply_broadcast)
            return str(stored["ts"])

    def post_bot_message(self, channel: str, username: str, text: str,
                         bot_id: str = "B0OTHER") -> str:
        with self.lock:
            ch = self._channel(channel)
            message: Message = {"type": "message", "subtype": "bot_message", "text": text,
                       "username": username, "bot_id": bot_id}
            return str(self.slack.append(ch, message)["ts"])

    # --- what people do to messages afterwards (sandbox.slack_changes) ----------------

    def edit_message(self, channel: str, ts: str, text: str) -> None:
        with self.lock:
            slack_changes.edit(self.slack, self._channel(channel), ts, text)

    def delete_message(self, channel: str, ts: str) -> None:
        with self.lock:
            slack_changes.delete(self._channel(channel), ts)

    def add_reaction(self, channel: str, ts: str, user: str, name: str) -> None:
        with self.lock:
            if user not in self.slack.users:
                raise ValueError(f"unknown user {user!r}")
            slack_changes.react(self._channel(channel), ts, user, name)

    def pin_message(self, channel: str, ts: str) -> None:
        with self.lock:
            slack_changes.pin(self._channel(channel), ts)

    def post_file(self, channel: str, user: str, name: str, content: bytes,
                  mimetype: str = "application/octet-stream", text: str = "",
                  thread_ts: str | None = None, hidden: bool = False) -> tuple[str, str]:
        """A message sharing one file, as a person uploads it; returns (ts, file id)."""
        with self.lock:
            ch = self._channel(channel)
            if user not in self.slack.users:
                raise ValueError(f"unknown user {user!r}")
            self._check_thread(ch.by_ts, thread_ts)
            stored = slack_changes.new_file(self.slack, self.slack.files, user, name, mimetype,
                                            content, hidden)
            message: Message = {"type": "message", "user": user, "text": text,
                                "team": self.slack.team_id, "upload": True,
                                "files": [stored.to_api(self.base_url, self.slack.team_id)]}
            posted = self.slack.append(ch, message, thread_ts=thread_ts)
            return str(posted["ts"]), stored.id

    def new_trigger_id(self, user: str | None = None) -> str:
        with self.lock:
            return self.slack.new_trigger(user).id

    def new_response_url(self) -> str:
        with self.lock:
            key = self.slack.new_response_url()
        return f"{self.base_url}/slack/response/{key}"

    def _channel(self, channel_id: str) -> Channel:
        channel = self.slack.channels.get(channel_id)
        if channel is None:
            raise KeyError(f"unknown channel {channel_id!r}")
        return channel

    @staticmethod
    def _check_thread(by_ts: dict[str, Message], thread_ts: str | None) -> None:
        if thread_ts is not None and thread_ts not in by_ts:
            raise KeyError(f"no message with ts {thread_ts!r} in that channel")

    # --- reading Slack (copies, so callers cannot corrupt the stores) -----------------

    def channel(self, channel_id: str) -> dict[str, Any]:
        with self.lock:
            return self._channel(channel_id).snapshot()

    def channel_by_name(self, name: str) -> dict[str, Any] | None:
        with self.lock:
            channel = self.slack.channel_by_name(name)
            return None if channel is None else channel.snapshot()

    def messages(self, channel_id: str, include_replies: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            ch = self._channel(channel_id)
            return copy.deepcopy(ch.messages if include_replies else ch.top)

    def ephemerals(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.slack.ephemerals)

    def responses(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.slack.responses)

    def views(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.slack.views)

    # --- Jira and PagerDuty ------------------------------------------------------------

    def jira_create_issue(self, summary: str, project: str = "SEC") -> str:
        with self.lock:
            found = self.jira.project(project)
            if found is None:
                raise KeyError(f"unknown Jira project {project!r}")
            return self.jira.create_issue(found, summary).key

    def jira_issue(self, key: str, *, with_content: bool = True) -> dict[str, Any]:
        with self.lock:
            issue = self.jira.issue(key)
            if issue is None:
                raise KeyError(f"unknown Jira issue {key!r}")
            return self.jira.snapshot(issue, self.jira_url, with_content=with_content)

    def jira_issues(self, *, with_content: bool = True) -> list[dict[str, Any]]:
        with self.lock:
            return [self.jira.snapshot(i, self.jira_url, with_content=with_content)
                    for i in self.jira.issues.values()]

    def jira_attachment_content(self, attachment_id: str) -> bytes:
        with self.lock:
            attachment = self.jira.attachments.get(attachment_id)
            if attachment is None:
                raise KeyError(f"unknown attachment {attachment_id!r}")
            return attachment.content

    def pagerduty(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.pagerduty_events)

    # --- Falcon ------------------------------------------------------------------------

    def add_host(self, hostname: str, **details: str) -> str:
        with self.lock:
            return self.falcon.add_host(hostname, **details)

    def falcon_host(self, device_id: str) -> dict[str, Any]:
        with self.lock:
            found = self.falcon.details([device_id])
            if not found:
                raise KeyError(f"unknown host {device_id!r}")
            return found[0]

    def falcon_actions(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.falcon.actions)

    def set_falcon_settle(self, seconds: float) -> None:
        with self.lock:
            self.falcon.settle_seconds = seconds

    # --- Slack user groups -------------------------------------------------------------

    def add_usergroup(self, handle: str, members: list[str], group_id: str | None = None) -> str:
        """A user group (`S…`); an existing `group_id` gets these members instead."""
        with self.lock:
            unknown = [m for m in members if m not in self.slack.users]
            if unknown:
                raise ValueError(f"unknown users: {unknown}")
            return self.slack.add_usergroup(handle, members, group_id)
