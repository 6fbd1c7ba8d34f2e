"""`Sandbox`: the emulators served in this process, plus direct access to their state."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sandbox.app import build_app
from sandbox.crash import CrashFault, CrashRecord, CrashService, When
from sandbox.faults import Service
from sandbox.jira_store import PERMISSIONS
from sandbox.manifest import manifest_bot_scopes
from sandbox.recording import RecordedRequest
from sandbox.server import ServerThread
from sandbox.state import Credentials, SandboxState

DEFAULT_BOT_TOKEN = "xoxb-sandbox-token"
DEFAULT_JIRA_USER = "bot@example.com"
DEFAULT_JIRA_TOKEN = "jira-sandbox-token"
DEFAULT_APP_TOKEN = "xapp-1-A0IRBOT-sandbox-app-token"
DEFAULT_FALCON_CLIENT_ID = "falcon-sandbox-client"
DEFAULT_FALCON_CLIENT_SECRET = "falcon-sandbox-secret"
TEAM_ID = "T0SANDBOX"
BOT_USER_ID = "U0IRBOT01"
BOT_ID = "B0IRBOT01"
APP_ID = "A0IRBOT"


class Sandbox:
    """Slack, Jira, PagerDuty and CrowdStrike Falcon emulators on one loopback HTTP server.

    All query methods return copies; mutate state only through the methods here or the emulated APIs
    themselves.
    """

    def __init__(
        self, *, bot_token: str = DEFAULT_BOT_TOKEN, jira_user: str = DEFAULT_JIRA_USER,
        jira_token: str = DEFAULT_JIRA_TOKEN, jira_projects: tuple[str, ...] = ("SEC",),
        host: str = "127.0.0.1", port: int = 0, app_token: str = DEFAULT_APP_TOKEN,
        bot_scopes: tuple[str, ...] | None = None,
        jira_permissions: tuple[str, ...] = PERMISSIONS,
        falcon_client_id: str = DEFAULT_FALCON_CLIENT_ID,
        falcon_client_secret: str = DEFAULT_FALCON_CLIENT_SECRET,
    ) -> None:
        self.bot_token = bot_token
        self.falcon_client_id = falcon_client_id
        self.falcon_client_secret = falcon_client_secret
        self.app_token = app_token
        # By default, what Slack reports for an app installed from irbot's manifest.
        self.bot_scopes = manifest_bot_scopes() if bot_scopes is None else tuple(bot_scopes)
        self.jira_user = jira_user
        self.jira_token = jira_token
        self.jira_projects = tuple(jira_projects)
        self.team_id = TEAM_ID
        self.bot_user_id = BOT_USER_ID
        self.bot_id = BOT_ID
        self.app_id = APP_ID
        self._host, self._port = host, port
        self._state = SandboxState(
            credentials=Credentials(bot_token, jira_user, jira_token, app_token,
                                    falcon_client_id, falcon_client_secret),
            jira_projects=self.jira_projects, team_id=TEAM_ID, bot_user_id=BOT_USER_ID,
            bot_id=BOT_ID, app_id=APP_ID, bot_scopes=self.bot_scopes,
            jira_permissions=tuple(jira_permissions),
        )
        self._server: ServerThread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            raise RuntimeError("sandbox already started")
        server = ServerThread(build_app(self._state), self._host, self._port)
        self._state.base_url = f"http://{server.host}:{server.port}"
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- addresses ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        if not self._state.base_url:
            raise RuntimeError("sandbox not started")
        return self._state.base_url

    @property
    def slack_api_url(self) -> str:
        return f"{self.url}/slack/api/"

    @property
    def jira_url(self) -> str:
        return f"{self.url}/jira"

    @property
    def pagerduty_url(self) -> str:
        return f"{self.url}/pagerduty/v2/enqueue"

    @property
    def falcon_url(self) -> str:
        """Falcon's API base URL (falconpy's `base_url`)."""
        return f"{self.url}/falcon"

    # --- seeding -----------------------------------------------------------------------

    def add_user(self, name: str, real_name: str | None = None, deleted: bool = False,
                 is_bot: bool = False) -> str:
        return self._state.add_user(name, real_name, deleted, is_bot)

    def add_channel(self, name: str, members: list[str] | tuple[str, ...] = (),
                    is_private: bool = False, bot_is_member: bool = True,
                    creator: str | None = None) -> str:
        """A channel as people made it; `creator` defaults to the bot, like Slack's own seed."""
        return self._state.add_channel(name, members, is_private, bot_is_member, creator)

    def post_message(self, channel: str, user: str, text: str, thread_ts: str | None = None,
                     reply_broadcast: bool = False) -> str:
        return self._state.post_message(channel, user, text, thread_ts, reply_broadcast)

    def post_bot_message(self, channel: str, username: str, text: str,
                         bot_id: str = "B0OTHER") -> str:
        return self._state.post_bot_message(channel, username, text, bot_id)

    def edit_message(self, channel: str, ts: str, text: str) -> None:
        """The author edits a message (top-level or reply): new text, `edited` set."""
        self._state.edit_message(channel, ts, text)

    def delete_message(self, channel: str, ts: str) -> None:
        """Gone from Slack; a thread parent with replies becomes a tombstone."""
        self._state.delete_message(channel, ts)

    def add_reaction(self, channel: str, ts: str, user: str, name: str) -> None:
        self._state.add_reaction(channel, ts, user, name)

    def pin_message(self, channel: str, ts: str) -> None:
        self._state.pin_message(channel, ts)

    def post_file(self, channel: str, user: str, name: str, content: bytes,
                  mimetype: str = "application/octet-stream", text: str = "",
                  thread_ts: str | None = None, hidden: bool = False) -> tuple[str, str]:
        """A person shares a file (downloadable with the bot token); returns (ts, file id).
        `hidden` lists it as Slack's free plan does for old files (mode hidden_by_limit)."""
        return self._state.post_file(channel, user, name, content, mimetype, text, thread_ts,
                                     hidden)

    def new_trigger_id(self, user: str | None = None) -> str:
        return self._state.new_trigger_id(user)

    def response_url(self) -> str:
        return self._state.new_response_url()

    def inject_fault(self, service: Service, target: str, status: int, times: int = 1,
                     retry_after: int | None = None, body: dict[str, Any] | None = None) -> None:
        self._state.inject_fault(service, target, status, times, retry_after, body)

    def inject_crash(self, service: CrashService, target: str, at_call: int,
                     when: When = "before", from_pid: int | None = None) -> None:
        """SIGKILL the client sending the `at_call`-th request matching (service, target) from
        now on, `before` it takes effect or `after` (applied and recorded, answer withheld).

        `target` as for `inject_fault`; service "*" (target "*") counts every Slack, Jira and
        PagerDuty call alike. `from_pid` counts only requests from that process or its
        descendants (e.g. a Prefect runner's flow-run processes). One-shot; `crashes()` says
        what it killed. A request from the sandbox's own process (or an ancestor) is refused
        with a 500 instead.
        """
        self._state.inject_crash(service, target, at_call, when, from_pid)

    def crashes(self) -> list[CrashRecord]:
        """Every crash fault that went off (killed, or refused with a reason), oldest first."""
        return self._state.crashes()

    def pending_crashes(self) -> list[CrashFault]:
        """Crash faults not yet gone off, with how many matching calls each has counted (`seen`):
        a fault that cannot come due counts a process's calls, e.g. the steps of a flow run."""
        return self._state.pending_crashes()

    def throttle(self, method: str, limit: int, window_seconds: float = 60.0) -> None:
        """Rate-limit a Slack method like Slack's tiers: `limit` calls per fixed window, each
        call beyond answered 429 `ratelimited` with an integer Retry-After (see
        `sandbox.throttle` for scaling windows down)."""
        self._state.throttle(method, limit, window_seconds)

    def clear_faults(self) -> None:
        """Drop every injected fault, crash fault and throttle not yet consumed."""
        self._state.clear_faults()

    def jira_create_issue(self, summary: str, project: str = "SEC") -> str:
        return self._state.jira_create_issue(summary, project)

    def add_usergroup(self, handle: str, members: list[str], group_id: str | None = None) -> str:
        """A Slack user group (`usergroups.users.list`); returns its id (`S…`)."""
        return self._state.add_usergroup(handle, members, group_id)

    # --- CrowdStrike Falcon ------------------------------------------------------------

    def add_host(self, hostname: str, **details: str) -> str:
        """A host with a Falcon sensor; returns its device id. `details`: platform_name,
        os_version, last_seen, status."""
        return self._state.add_host(hostname, **details)

    def falcon_host(self, device_id: str) -> dict[str, Any]:
        """The host as Falcon reports it now (its containment status included)."""
        return self._state.falcon_host(device_id)

    def falcon_actions(self) -> list[dict[str, Any]]:
        """Every containment action Falcon accepted: {action, device_id, at}, oldest first."""
        return self._state.falcon_actions()

    def set_falcon_settle(self, seconds: float) -> None:
        """How long a pending containment (or lift) takes to become final."""
        self._state.set_falcon_settle(seconds)

    # --- Socket Mode -------------------------------------------------------------------

    def socket_send(self, kind: str, payload: dict[str, Any],
                    accepts_response_payload: bool = True) -> str:
        """Send an envelope (`slash_commands`, `interactive`, …) over the app's socket."""
        return self._state.socket.send(kind, payload, accepts_response_payload)

    def socket_ack(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any] | None:
        """The app's ack of an envelope, or None if it did not ack in time."""
        return self._state.socket.wait_ack(envelope_id, timeout)

    def socket_disconnect(self, reason: str = "refresh_requested") -> int:
        """Ask the app's connections to reconnect, as Slack's periodic refresh does."""
        return self._state.socket.disconnect(reason)

    def socket_drop(self) -> int:
        """Close the app's connections abruptly (no `disconnect` first)."""
        return self._state.socket.drop()

    def socket_mute(self) -> bool:
        """The live connection goes silent: still answering pings, delivering nothing."""
        return self._state.socket.mute()

    def wait_socket(self, count: int = 1, timeout: float = 10.0) -> bool:
        return self._state.socket.wait_connections(count, timeout)

    def socket_status(self) -> dict[str, Any]:
        return self._state.socket.status()

    # --- reading -----------------------------------------------------------------------

    def requests(self, service: str | None = None,
                 name: str | None = None) -> list[RecordedRequest]:
        return self._state.requests(service, name)

    def reset_requests(self) -> None:
        """Forget the recorded requests and crashes."""
        self._state.reset_requests()

    def channel(self, channel_id: str) -> dict[str, Any]:
        return self._state.channel(channel_id)

    def channel_by_name(self, name: str) -> dict[str, Any] | None:
        return self._state.channel_by_name(name)

    def messages(self, channel_id: str, include_replies: bool = False) -> list[dict[str, Any]]:
        return self._state.messages(channel_id, include_replies)

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        return self._state.ephemerals()

    @property
    def responses(self) -> list[dict[str, Any]]:
        return self._state.responses()

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        return self._state.views()

    def jira_issue(self, key: str) -> dict[str, Any]:
        return self._state.jira_issue(key)

    def jira_issues(self) -> list[dict[str, Any]]:
        return self._state.jira_issues()

    @property
    def pagerduty_events(self) -> list[dict[str, Any]]:
        return self._state.pagerduty()
