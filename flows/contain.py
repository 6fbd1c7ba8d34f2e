"""contain-incident / lift-incident: look the host up in CrowdStrike Falcon → a card with
confirm / Cancel → (a click) → ask Falcon → report. Every step goes to the channel and to Jira.

Two runs of the same deployment, not one suspended run: the lookup run posts the card and ends;
the click (checked by the webhook: the commander or IRBOT_CONTAIN_ALLOWED) starts a decision run
whose idempotency key is the card's, so the first click wins and a double click acts once.
Nothing waits in between: a card left unanswered holds no run that would time out into Failed,
a restart loses nothing, and each step is a run of its own in the Prefect UI.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from slack_sdk import WebClient

from tasks import deployments, messages
from tasks import falcon as falcon_tasks
from tasks import jira as jira_tasks
from tasks import slack as slack_tasks
from tasks.clients import falcon_client, jira_client, slack_client
from tasks.errors import FalconError, IrbotError
from tasks.runs import refuse_crash_loop
from tasks.state import IncidentState, find_incident

Action = Literal["contain", "lift"]
# How long a confirmed request watches the host settle before reporting what it sees: Falcon
# applies containment when the sensor next checks in (seconds, usually).
SETTLE_WAIT_SECONDS = 30.0


def card_value(action: Action, device_id: str, hostname: str, requested_by: str | None) -> str:
    """What the card's buttons carry back (Slack signs the click: the webhook can trust it)."""
    return json.dumps({"a": action, "d": device_id, "h": hostname, "r": requested_by or "",
                       "run": str(flow_run.id)}, separators=(",", ":"))


@flow(name=deployments.flow_of(deployments.CONTAIN))
def contain_host(channel_id: str, hostname: str, requested_by: str | None = None,
                 decision: str | None = None, decided_by: str | None = None,
                 device_id: str | None = None, card_ts: str | None = None) -> dict[str, Any]:
    """Network-contain a host: the lookup (and card), or with `decision` the click's outcome."""
    return _handle("contain", channel_id, hostname, requested_by, decision, decided_by,
                   device_id, card_ts)


@flow(name=deployments.flow_of(deployments.LIFT))
def lift_containment(channel_id: str, hostname: str, requested_by: str | None = None,
                     decision: str | None = None, decided_by: str | None = None,
                     device_id: str | None = None, card_ts: str | None = None) -> dict[str, Any]:
    """Lift a host's network containment: the lookup, or with `decision` the click's outcome."""
    return _handle("lift", channel_id, hostname, requested_by, decision, decided_by,
                   device_id, card_ts)


class _Steps:
    """One incident's channel and Jira case: where every step is told."""

    def __init__(self, slack: WebClient, state: IncidentState, hostname: str) -> None:
        self.slack, self.state, self.hostname = slack, state, hostname
        self.jira = jira_client()

    def tell(self, slack_text: str, jira_text: str, kind: str) -> None:
        slack_tasks.post_message(self.slack, self.state.channel_id, slack_text, kind=kind)
        self.record(jira_text)

    def record(self, jira_text: str) -> None:
        jira_tasks.add_comment(self.jira, self.state.case_key,
                               messages.containment_comment(self.hostname, jira_text))

    def name(self, user: str | None) -> str:
        return slack_tasks.person(self.slack, user)


def _handle(action: Action, channel_id: str, hostname: str, requested_by: str | None,
            decision: str | None, decided_by: str | None, device_id: str | None,
            card_ts: str | None) -> dict[str, Any]:
    refuse_crash_loop(str(flow_run.id), int(flow_run.run_count or 1))
    slack = slack_client()
    state = find_incident(channel_id)
    if state is None:  # archived since the command or the click: nothing to record it on
        return {"outcome": "no_incident"}
    steps = _Steps(slack, state, hostname)
    if decision is None:
        return _lookup(steps, action, requested_by)
    if decision == "cancel":
        text = messages.host_cancelled(action, hostname, messages.who(decided_by))
        _close_card(steps, card_ts, text)
        steps.record(messages.host_cancelled(action, hostname, steps.name(decided_by)))
        return {"outcome": "cancelled", "decided_by": decided_by}
    if decision != "confirm":
        raise ValueError(f"decision must be confirm or cancel, not {decision!r}")
    return _act(steps, action, device_id, decided_by, card_ts)


def _lookup(steps: _Steps, action: Action, requested_by: str | None) -> dict[str, Any]:
    """Find the host and post what Falcon knows, with the buttons (or why there is nothing)."""
    hostname = steps.hostname
    try:
        host = falcon_tasks.find_host(falcon_client(), hostname)
    except IrbotError as exc:
        steps.tell(messages.lookup_failed(action, hostname, exc.user_message),
                   f"{steps.name(requested_by)}: " +
                   messages.lookup_failed(action, hostname, exc.user_message), "contain")
        if isinstance(exc, FalconError):
            raise  # Falcon failed: the run fails, visibly; no host / several hosts is an answer
        return {"outcome": "not_found"}
    status = str(host.get("status") or "")
    if status in falcon_tasks.TAKEN[action]:
        text = messages.host_already(action, str(host.get("hostname") or hostname), status)
        steps.tell(text, f"{steps.name(requested_by)} asked; {text}", "contain")
        return {"outcome": "nothing_to_do", "status": status}
    device = str(host["device_id"])
    text, blocks = messages.host_card(action, requested_by, host,
                                      card_value(action, device, hostname, requested_by))
    slack_tasks.post_message(steps.slack, steps.state.channel_id, text, blocks,
                             kind="contain-card", key=f"{flow_run.id}:card")
    steps.record(messages.lookup_comment(action, hostname, steps.name(requested_by), host))
    return {"outcome": "awaiting_confirmation", "device_id": device}


def _act(steps: _Steps, action: Action, device_id: str | None, decided_by: str | None,
         card_ts: str | None) -> dict[str, Any]:
    """The confirmed request: Falcon acts, the channel and the case hear how it went. (Without
    a device id, an operator's run from Prefect: the host is looked up by name first.)"""
    hostname = steps.hostname
    _close_card(steps, card_ts, messages.host_confirmed(action, hostname,
                                                        messages.who(decided_by)))
    steps.record(messages.host_confirmed(action, hostname, steps.name(decided_by)))
    try:
        hosts = falcon_client()
        device_id = device_id or str(falcon_tasks.find_host(hosts, hostname)["device_id"])
        falcon_tasks.request_action(hosts, action, device_id)
        status = falcon_tasks.settled_status(hosts, action, device_id, SETTLE_WAIT_SECONDS)
    except IrbotError as exc:
        text = messages.host_action_failed(action, hostname, exc.user_message)
        steps.tell(text, text, "contain")
        raise
    text = messages.host_done(action, hostname, status)
    steps.tell(text, f"{text} (device {device_id})", "contain")
    get_run_logger().info("%s %s (%s): %s", action, hostname, device_id, status)
    return {"outcome": "done", "status": status, "decided_by": decided_by}


def _close_card(steps: _Steps, card_ts: str | None, text: str) -> None:
    """The card's buttons go: what was decided takes their place."""
    if card_ts:
        body, blocks = messages.host_card_outcome(text)
        slack_tasks.update_message(steps.slack, steps.state.channel_id, card_ts, body, blocks)
    else:
        slack_tasks.post_message(steps.slack, steps.state.channel_id, text, kind="contain")
