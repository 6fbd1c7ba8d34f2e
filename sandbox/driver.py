"""Plays Slack's side of the webhook: signed slash commands, modal submits and button clicks,
over HTTP (`SlackDriver`) or over the app's Socket Mode connection (`SocketDriver`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl

import httpx

from sandbox.signing import block_actions_body, sign, slash_command_body, view_submission_body

T = TypeVar("T")


class SandboxLike(Protocol):
    """What the driver needs from a Sandbox."""

    team_id: str

    def new_trigger_id(self) -> str: ...
    def response_url(self) -> str: ...
    @property
    def responses(self) -> list[dict[str, Any]]: ...
    @property
    def views(self) -> dict[str, dict[str, Any]]: ...


@dataclass
class Reply:
    """The webhook's HTTP answer, plus where its later answers (response_url) go."""

    status: int
    body: dict[str, Any] | str
    response_url: str
    trigger_id: str
    elapsed: float

    @property
    def text(self) -> str:
        return str(self.body.get("text", "")) if isinstance(self.body, dict) else self.body


def wait_for(check: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.1,
             what: str = "condition") -> T:
    """Poll until `check` returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class SocketSandboxLike(SandboxLike, Protocol):
    """A sandbox that can also carry envelopes over Socket Mode."""

    def socket_send(self, kind: str, payload: dict[str, Any],
                    accepts_response_payload: bool = True) -> str: ...
    def socket_ack(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any] | None: ...


class Driver:
    """What a responder does; subclasses say how Slack carries it to the app."""

    sandbox: SandboxLike

    def _deliver(self, body: str) -> tuple[int, dict[str, Any] | str]:
        """Carry a form body as Slack would; (HTTP-like status, the app's answer)."""
        raise NotImplementedError

    def command(self, text: str, user_id: str, channel_id: str, channel_name: str = "general",
                user_name: str = "") -> Reply:
        """`/irbot <text>` typed by a user in a channel."""
        response_url, trigger = self.sandbox.response_url(), self.sandbox.new_trigger_id()
        body = slash_command_body(text=text, user_id=user_id, user_name=user_name or user_id,
                                  channel_id=channel_id, channel_name=channel_name,
                                  team_id=self.sandbox.team_id, response_url=response_url,
                                  trigger_id=trigger)
        started = time.perf_counter()
        status, answer = self._deliver(body)
        return Reply(status, answer, response_url, trigger, time.perf_counter() - started)

    def opened_view(self, trigger_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The modal the webhook opened with this trigger."""
        return wait_for(lambda: next((v for v in self.sandbox.views.values()
                                      if v.get("trigger_id") == trigger_id), None),
                        timeout, what="the modal to open")

    def submit(self, view: dict[str, Any], values: dict[str, Any], user_id: str) -> Reply:
        """Press the modal's submit button with these `view.state.values`."""
        body = view_submission_body(view=view, values=values, user_id=user_id,
                                    user_name=user_id, team_id=self.sandbox.team_id)
        started = time.perf_counter()
        status, answer = self._deliver(body)
        return Reply(status, answer, "", "", time.perf_counter() - started)

    def click(self, channel_id: str, message: dict[str, Any], action_id: str,
              user_id: str) -> Reply:
        """Press a button of a message the bot posted."""
        action = _find_action(message, action_id)
        response_url = self.sandbox.response_url()
        body = block_actions_body(
            action_id=action_id, value=str(action.get("value", "")),
            block_id=str(action.get("block_id", "")), user_id=user_id, user_name=user_id,
            channel_id=channel_id, message_ts=str(message["ts"]), team_id=self.sandbox.team_id,
            response_url=response_url, trigger_id=self.sandbox.new_trigger_id(), message=message,
            button_text=str((action.get("text") or {}).get("text", "")))
        started = time.perf_counter()
        status, answer = self._deliver(body)
        return Reply(status, answer, response_url, "", time.perf_counter() - started)

    def answers(self, response_url: str) -> list[dict[str, Any]]:
        """What the webhook later sent to a response_url."""
        return [r["body"] for r in self.sandbox.responses if r["url"] == response_url]

    def wait_answer(self, response_url: str, timeout: float = 15.0) -> dict[str, Any]:
        """The first later answer to a command or click."""
        return wait_for(lambda: next(iter(self.answers(response_url)), None), timeout,
                        what="an answer on the response_url")

    def close(self) -> None:
        pass


class SlackDriver(Driver):
    """Sends what Slack would send to `POST /slack/events`, signed with the app's secret."""

    def __init__(self, webhook_url: str, signing_secret: str, sandbox: SandboxLike) -> None:
        self.events_url = webhook_url.rstrip("/") + "/slack/events"
        self.secret = signing_secret
        self.sandbox = sandbox
        self.http = httpx.Client(timeout=30)

    def post(self, body: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """POST a form body, signed unless headers are given."""
        return self.http.post(self.events_url, content=body,
                              headers=headers if headers is not None else sign(self.secret, body))

    def _deliver(self, body: str) -> tuple[int, dict[str, Any] | str]:
        resp = self.post(body)
        return resp.status_code, _json_or_text(resp)

    def close(self) -> None:
        self.http.close()


ACK_SECONDS = 3.0  # Slack gives up on an envelope nobody acked in 3 s


class SocketDriver(Driver):
    """Sends the same payloads as envelopes over the app's Socket Mode connection.

    Slack puts a slash command's fields, or an interaction's JSON, in the envelope's payload;
    the app's ack carries what an HTTP app would have answered (a 200 here, a 504 if no ack).
    """

    def __init__(self, sandbox: SocketSandboxLike) -> None:
        self.sandbox = sandbox
        self._socket = sandbox

    def _deliver(self, body: str) -> tuple[int, dict[str, Any] | str]:
        fields = dict(parse_qsl(body, keep_blank_values=True))
        if "payload" in fields:
            payload = json.loads(fields["payload"])
            kind, wants_answer = "interactive", payload.get("type") == "view_submission"
        else:
            payload, kind, wants_answer = fields, "slash_commands", True
        envelope_id = self._socket.socket_send(kind, payload, wants_answer)
        ack = self._socket.socket_ack(envelope_id, ACK_SECONDS)
        if ack is None:
            return 504, "no ack within 3 s"
        answer = ack.get("payload")
        return 200, answer if isinstance(answer, dict) and answer else ""


def form_values(view: dict[str, Any], fill: dict[str, Any]) -> dict[str, Any]:
    """`view.state.values` for a modal, filling input blocks by block_id.

    `fill` maps block_id → str (text input, a single user select), list[str] (multi users
    select), bool (checkbox ticked) or str for a static select's option value. Blocks not in
    `fill` are sent empty, as Slack does.
    """
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind, wanted = element["type"], fill.get(block["block_id"])
        if kind == "plain_text_input":
            value: dict[str, Any] = {"type": kind, "value": wanted or None}
        elif kind == "multi_users_select":
            value = {"type": kind, "selected_users": list(wanted or [])}
        elif kind == "users_select":  # Slack sends the initial user when nobody changed it
            value = {"type": kind, "selected_user": wanted or element.get("initial_user")}
        elif kind == "checkboxes":
            value = {"type": kind, "selected_options": element["options"][:1] if wanted else []}
        elif kind == "static_select":
            chosen = next((o for o in element["options"] if o["value"] == wanted),
                          element.get("initial_option"))
            value = {"type": kind, "selected_option": chosen}
        else:
            value = {"type": kind}
        values[block["block_id"]] = {element["action_id"]: value}
    return values


def _find_action(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return {**element, "block_id": block.get("block_id", "")}
    raise LookupError(f"no button {action_id!r} on message {message.get('ts')}")


def _json_or_text(resp: httpx.Response) -> dict[str, Any] | str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text
    return data if isinstance(data, dict) else resp.text


def conversation(sandbox: Any, channel: str) -> list[str]:
    """The ts of every message people posted: what the transcript must hold, once each."""
    return [m["ts"] for m in sandbox.messages(channel)
            if not m.get("metadata") and m.get("user") != sandbox.bot_user_id]
