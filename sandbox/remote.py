"""`RemoteSandbox`: drive a sandbox another process started, through its control API."""

from __future__ import annotations

import base64
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from sandbox.crash import CrashRecord, CrashService, When
from sandbox.faults import Service
from sandbox.recording import RecordedRequest


class RemoteSandbox:
    """Same methods as `Sandbox` (minus start/stop), over HTTP to `url`/_control/."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=f"{self.url}/_control", timeout=timeout)
        info = self._call("GET", "/info")
        self.slack_api_url: str = info["slack_api_url"]
        self.jira_url: str = info["jira_url"]
        self.pagerduty_url: str = info["pagerduty_url"]
        self.bot_token: str = info["bot_token"]
        self.app_token: str = info["app_token"]
        self.jira_user: str = info["jira_user"]
        self.jira_token: str = info["jira_token"]
        self.jira_projects: tuple[str, ...] = tuple(info["jira_projects"])
        self.team_id: str = info["team_id"]
        self.bot_user_id: str = info["bot_user_id"]
        self.bot_id: str = info["bot_id"]
        self.app_id: str = info["app_id"]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RemoteSandbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, str] | None = None) -> Any:
        response = self._http.request(method, path, json=body, params=params)
        if response.status_code == 404:
            raise KeyError(_error(response))
        if response.status_code == 400:
            raise ValueError(_error(response))
        response.raise_for_status()
        return response.json() if response.content else None

    # --- seeding -----------------------------------------------------------------------

    def add_user(self, name: str, real_name: str | None = None, deleted: bool = False,
                 is_bot: bool = False) -> str:
        return str(self._call("POST", "/users", {
            "name": name, "real_name": real_name, "deleted": deleted, "is_bot": is_bot})["id"])

    def add_channel(self, name: str, members: list[str] | tuple[str, ...] = (),
                    is_private: bool = False, bot_is_member: bool = True) -> str:
        return str(self._call("POST", "/channels", {
            "name": name, "members": list(members), "is_private": is_private,
            "bot_is_member": bot_is_member})["id"])

    def post_message(self, channel: str, user: str, text: str, thread_ts: str | None = None,
                     reply_broadcast: bool = False) -> str:
        return str(self._call("POST", "/messages", {
            "channel": channel, "user": user, "text": text, "thread_ts": thread_ts,
            "reply_broadcast": reply_broadcast})["ts"])

    def post_bot_message(self, channel: str, username: str, text: str,
                         bot_id: str = "B0OTHER") -> str:
        return str(self._call("POST", "/messages", {
            "channel": channel, "username": username, "text": text, "bot_id": bot_id})["ts"])

    def edit_message(self, channel: str, ts: str, text: str) -> None:
        self._call("POST", "/messages/edit", {"channel": channel, "ts": ts, "text": text})

    def delete_message(self, channel: str, ts: str) -> None:
        self._call("POST", "/messages/delete", {"channel": channel, "ts": ts})

    def add_reaction(self, channel: str, ts: str, user: str, name: str) -> None:
        self._call("POST", "/reactions", {"channel": channel, "ts": ts, "user": user,
                                          "name": name})

    def pin_message(self, channel: str, ts: str) -> None:
        self._call("POST", "/pins", {"channel": channel, "ts": ts})

    def post_file(self, channel: str, user: str, name: str, content: bytes,
                  mimetype: str = "application/octet-stream", text: str = "",
                  thread_ts: str | None = None, hidden: bool = False) -> tuple[str, str]:
        found = self._call("POST", "/files", {
            "channel": channel, "user": user, "name": name, "mimetype": mimetype,
            "content_b64": base64.b64encode(content).decode(), "text": text,
            "thread_ts": thread_ts, "hidden": hidden})
        return str(found["ts"]), str(found["file"])

    def new_trigger_id(self, user: str | None = None) -> str:
        return str(self._call("POST", "/trigger_ids", {"user": user})["trigger_id"])

    def response_url(self) -> str:
        return str(self._call("POST", "/response_urls", {})["url"])

    def inject_fault(self, service: Service, target: str, status: int, times: int = 1,
                     retry_after: int | None = None, body: dict[str, Any] | None = None) -> None:
        self._call("POST", "/faults", {
            "service": service, "target": target, "status": status, "times": times,
            "retry_after": retry_after, "body": body})

    def inject_crash(self, service: CrashService, target: str, at_call: int,
                     when: When = "before", from_pid: int | None = None) -> None:
        self._call("POST", "/crash_faults", {
            "service": service, "target": target, "at_call": at_call, "when": when,
            "from_pid": from_pid})

    def crashes(self) -> list[CrashRecord]:
        return [CrashRecord.from_json(c) for c in self._call("GET", "/crashes")["crashes"]]

    def throttle(self, method: str, limit: int, window_seconds: float = 60.0) -> None:
        self._call("POST", "/throttles", {
            "method": method, "limit": limit, "window_seconds": window_seconds})

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def jira_create_issue(self, summary: str, project: str = "SEC") -> str:
        return str(self._call("POST", "/jira/issues",
                              {"summary": summary, "project": project})["key"])

    # --- reading -----------------------------------------------------------------------

    def requests(self, service: str | None = None,
                 name: str | None = None) -> list[RecordedRequest]:
        query = {k: v for k, v in (("service", service), ("name", name)) if v}
        found = self._call("GET", "/requests", params=query)["requests"]
        return [RecordedRequest.from_json(r) for r in found]

    def reset_requests(self) -> None:
        self._call("DELETE", "/requests")

    def channel(self, channel_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/channels/{quote(channel_id)}"))

    def channel_by_name(self, name: str) -> dict[str, Any] | None:
        found = self._call("GET", "/channels", params={"name": name})["channel"]
        return None if found is None else dict(found)

    def messages(self, channel_id: str, include_replies: bool = False) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/channels/{quote(channel_id)}/messages",
                               params={"include_replies": "1" if include_replies else "0"})
                    ["messages"])

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/ephemerals")["ephemerals"])

    @property
    def responses(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/responses")["responses"])

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        return dict(self._call("GET", "/views")["views"])

    def jira_issue(self, key: str) -> dict[str, Any]:
        return self._with_content(self._call("GET", f"/jira/issues/{quote(key)}"))

    def jira_issues(self) -> list[dict[str, Any]]:
        return [self._with_content(i) for i in self._call("GET", "/jira/issues")["issues"]]

    def _with_content(self, issue: dict[str, Any]) -> dict[str, Any]:
        """Attachment bytes travel separately: the control API's JSON cannot hold them."""
        for attachment in issue["attachments"]:
            response = self._http.get(f"/jira/attachments/{attachment['id']}/content")
            response.raise_for_status()
            attachment["content"] = response.content
        return issue

    @property
    def pagerduty_events(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/pagerduty/events")["events"])


def _error(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return response.text
