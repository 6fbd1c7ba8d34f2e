"""`/irbot contain|lift <hostname>` and the card's buttons: who may confirm, then hand off.

The lookup and the Falcon calls are flow runs (flows/contain.py). A click is checked here, where
the answer to a refused click can be ephemeral and immediate; a confirmed or cancelled click
starts the decision run, keyed by the card so that the first click wins.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tasks import deployments
from tasks.messages import CONTAIN_CANCEL_ACTION, CONTAIN_CONFIRM_ACTION
from tasks.settings import Settings
from tasks.state import IncidentState, commander_of
from webhook import replies
from webhook.commands import HOST_COMMANDS, hostname_ok
from webhook.handoff import Handoff
from webhook.incidents import IncidentDirectory
from webhook.reading import slack_id, text_of, user_of

log = logging.getLogger("irbot.webhook")
DEPLOYMENT = {"contain": deployments.CONTAIN, "lift": deployments.LIFT}
_DEVICE_ID_CHARS = frozenset("0123456789abcdef")
_NOUN = {"contain": "containment", "lift": "lift of containment"}


@dataclass(frozen=True)
class Card:
    """What a card's button carries (flows/contain.py card_value)."""

    action: str
    device_id: str
    hostname: str
    requested_by: str
    lookup_run: str


def read_card(value: Any) -> Card | None:
    """The button's value, or None when it is not one of our cards (pure)."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
        if not isinstance(data, dict):
            return None
        run = str(UUID(str(data["run"])))
    except (ValueError, KeyError, TypeError):
        return None
    action, device, host = (str(data.get(k) or "") for k in ("a", "d", "h"))
    requester = slack_id(str(data.get("r") or ""))
    if (action not in HOST_COMMANDS or not hostname_ok(host) or not device
            or len(device) > 64 or not set(device) <= _DEVICE_ID_CHARS):
        return None
    return Card(action, device, host, requester, run)


def may_confirm(user: str, commander: str, allowed: Iterable[str],
                group_members: dict[str, list[str]]) -> bool:
    """The commander, anyone listed, or a member of a listed user group (pure)."""
    listed = set(allowed)
    return user == commander or user in listed or any(
        user in group_members.get(group, []) for group in listed if group.startswith("S"))


async def group_members(client: AsyncWebClient, allowed: Iterable[str]) -> dict[str, list[str]]:
    """Members of the user groups in IRBOT_CONTAIN_ALLOWED (scope usergroups:read); a group
    Slack will not list counts as empty, and the log says why."""
    members: dict[str, list[str]] = {}
    for group in (g for g in allowed if g.startswith("S")):
        try:
            resp = await client.usergroups_users_list(usergroup=group)
            members[group] = [str(u) for u in resp.get("users") or []]
        except SlackApiError as exc:
            log.warning("usergroups.users.list %s refused: %s", group, exc.response.get("error"))
            members[group] = []
    return members


async def allowed_to_confirm(client: AsyncWebClient, settings: Settings, state: IncidentState,
                             user: str) -> bool:
    allowed = settings.IRBOT_CONTAIN_ALLOWED
    commander = commander_of(state)
    if may_confirm(user, commander, allowed, {}):
        return True  # no Slack call for the common case
    return may_confirm(user, commander, allowed, await group_members(client, allowed))


async def start_lookup(handoff: Handoff, action: str, hostname: str, channel: str, user: str,
                       trigger: str) -> None:
    """The command's run: look the host up and post the card."""
    await handoff.start_run(DEPLOYMENT[action], {
        "channel_id": channel, "hostname": hostname, "requested_by": user},
        f"{action}-{trigger}")


def register_containment(app: AsyncApp, settings: Settings, handoff: Handoff,
                         incidents: IncidentDirectory) -> None:
    """The card's two buttons."""

    async def clicked(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                      client: AsyncWebClient, decision: str) -> None:
        await ack()

        async def tell(text: str) -> None:
            await respond(text=text, response_type="ephemeral", replace_original=False)

        card, user = read_card(action.get("value")), user_of(body)
        raw = body.get("container")
        container: dict[str, Any] = raw if isinstance(raw, dict) else {}
        channel = slack_id(text_of(container, "channel_id"))
        card_ts = text_of(container, "message_ts")
        if card is None or not user or not channel or not text_of(body, "response_url"):
            log.warning("Containment button without a card, user or channel: nothing started")
            if text_of(body, "response_url"):
                await tell(replies.HOST_BUTTON_UNREADABLE)
            return
        state = await incidents.find(channel)
        if state is None:
            await tell(replies.closed_or_unknown("", card.action))
            return
        if not (decision == "cancel" and user == card.requested_by) and \
                not await allowed_to_confirm(client, settings, state, user):
            await tell(replies.not_allowed_to_cancel(commander_of(state)) if decision == "cancel"
                       else replies.not_allowed_to_confirm(commander_of(state),
                                                           _NOUN[card.action]))
            return
        params = {"channel_id": channel, "hostname": card.hostname,
                  "requested_by": card.requested_by or None, "decision": decision,
                  "decided_by": user, "device_id": card.device_id, "card_ts": card_ts or None}
        # One decision per card: a second click (or the other button) gets the first's run.
        run_id = await handoff.start_run(DEPLOYMENT[card.action], params,
                                         f"{card.action}-decision-{card.lookup_run}")
        first = await handoff.run_parameters(run_id)
        if first and (first.get("decided_by"), first.get("decision")) != (user, decision):
            await tell(replies.host_already_decided(str(first.get("decided_by")),
                                                    str(first.get("decision"))))

    @app.action(CONTAIN_CONFIRM_ACTION)
    async def contain_confirm(ack: Any, body: dict[str, Any], action: dict[str, Any],
                              respond: Any, client: AsyncWebClient) -> None:
        """Contain / Lift pressed on a card."""
        await clicked(ack, body, action, respond, client, "confirm")

    @app.action(CONTAIN_CANCEL_ACTION)
    async def contain_cancel(ack: Any, body: dict[str, Any], action: dict[str, Any],
                             respond: Any, client: AsyncWebClient) -> None:
        """Cancel pressed on a card."""
        await clicked(ack, body, action, respond, client, "cancel")
