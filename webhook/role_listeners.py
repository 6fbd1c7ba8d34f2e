"""`/irbot commander | severity | update | handover` and their two forms, after the ack."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tasks import deployments
from tasks.settings import Settings
from tasks.severity import parse_severity
from tasks.state import IncidentState
from webhook import replies
from webhook.commands import Command, PersonProblem, parse_person
from webhook.free_text import responder_text
from webhook.handoff import Handoff
from webhook.modal import origin_channel, submitted_values
from webhook.reading import text_of, user_of
from webhook.role_modals import (
    HANDOVER_CALLBACK_ID,
    NEXT_COMMANDER,
    SUMMARY,
    UPDATE_CALLBACK_ID,
    handover_modal,
    read_handover,
    read_update,
    update_modal,
)

log = logging.getLogger("irbot.webhook")


def needs_trigger(cmd: Command) -> bool:
    """The commands that open a form (and so need Slack's trigger id)."""
    return cmd.name == "handover" or (cmd.name == "update" and not cmd.args)


def refusal(cmd: Command, user: str) -> str | None:
    """What to answer at once, in the ack, when the command names nobody or no severity."""
    if cmd.name == "commander":
        named = parse_person(cmd.args[0] if cmd.args else "", user)
        if isinstance(named, PersonProblem):
            return replies.person_refused(named, cmd.args[0])
    if cmd.name == "severity" and (len(cmd.args) != 1 or not parse_severity(cmd.args[0])):
        return replies.unknown_severity(" ".join(cmd.args))
    return None


async def run_role_command(cmd: Command, state: IncidentState, user: str, trigger: str,
                           settings: Settings, handoff: Handoff, client: AsyncWebClient,
                           respond: Any) -> None:
    """Start the run (or open the form) for a command already checked by `refusal`."""
    channel = state.channel_id
    if cmd.name == "commander":
        commander = parse_person(cmd.args[0] if cmd.args else "", user)
        assert isinstance(commander, str)
        await handoff.start_run(deployments.COMMANDER, {
            "channel_id": channel, "commander": commander, "requested_by": user},
            f"commander-{trigger}")
        await respond(text=replies.commander_requested(commander, user),
                      response_type="ephemeral")
    elif cmd.name == "severity":
        severity = parse_severity(cmd.args[0])
        await handoff.start_run(deployments.SEVERITY, {
            "channel_id": channel, "severity": severity, "requested_by": user},
            f"severity-{trigger}")
        await respond(text=replies.severity_requested(str(severity)), response_type="ephemeral")
    elif cmd.name == "update" and cmd.args:
        # Plain and masked before it becomes a parameter: Prefect shows parameters as given.
        summary = responder_text(cmd.args[0], settings.IRBOT_REDACT_SECRETS)
        await handoff.start_run(deployments.UPDATE, {
            "channel_id": channel, "summary": summary, "requested_by": user},
            f"update-{trigger}")
        await respond(text=replies.UPDATE_REQUESTED, response_type="ephemeral")
    else:
        view = (update_modal(channel, state.update_status) if cmd.name == "update"
                else handover_modal(channel))
        try:
            await client.views_open(trigger_id=trigger, view=view)
        except SlackApiError as exc:
            await respond(text=replies.form_not_opened_for(cmd.name, exc.response.get("error")),
                          response_type="ephemeral")


Tell = Callable[[AsyncWebClient, str | None, str, str], Awaitable[None]]


def register_role_forms(app: AsyncApp, settings: Settings, handoff: Handoff,
                        tell_user: Tell) -> None:
    """The submissions of the update and handover forms (`tell_user`: the listeners' own)."""
    mask = settings.IRBOT_REDACT_SECRETS

    async def submitted(ack: Any, body: dict[str, Any], view: dict[str, Any],
                        client: AsyncWebClient, deployment: str, field: str,
                        params: dict[str, Any] | dict[str, str], done: str) -> None:
        user, view_id, channel = user_of(body), text_of(view, "id"), origin_channel(view)
        if not user or not view_id or not channel:
            log.warning("%s form without a user, view id or channel: refused in the form",
                        deployment)
            await ack(response_action="errors", errors={field: replies.ROLE_FORM_UNREADABLE})
            return
        await ack()
        try:
            # One run per form, however often Slack delivers the submission.
            await handoff.start_run(deployment, {"channel_id": channel, **params,
                                                 "requested_by": user},
                                    f"{deployment.partition('-')[0]}-{view_id}")
        except Exception:
            log.exception("Could not start %s", deployment)
            await tell_user(client, channel, user,
                            replies.prefect_down(deployment.partition("/")[0]))
            return
        await tell_user(client, channel, user, done)

    @app.view(UPDATE_CALLBACK_ID)
    async def update_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any],
                               client: AsyncWebClient) -> None:
        """Refuse bad input inside the form; otherwise start the update."""
        request = read_update(submitted_values(view))
        if isinstance(request, dict):
            await ack(response_action="errors", errors=request)
            return
        # Form text arrives as typed (not escaped): masked only.
        await submitted(ack, body, view, client, deployments.UPDATE, SUMMARY, {
            "status": request.status,
            "summary": responder_text(request.summary, mask, escaped=False)},
            replies.UPDATE_REQUESTED)

    @app.view(HANDOVER_CALLBACK_ID)
    async def handover_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any],
                                 client: AsyncWebClient) -> None:
        """Refuse bad input inside the form; otherwise start the handover."""
        request = read_handover(submitted_values(view))
        if isinstance(request, dict):
            await ack(response_action="errors", errors=request)
            return
        await submitted(ack, body, view, client, deployments.HANDOVER, NEXT_COMMANDER, {
            "next_commander": request.next_commander,
            **{key: responder_text(text, mask, escaped=False)
               for key, text in request.parts.items()}},
            replies.HANDOVER_REQUESTED)
