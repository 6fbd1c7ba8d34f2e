"""Bolt listeners: answer at once, then hand the work to Prefect."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tasks import deployments
from tasks.messages import ARCHIVE_CANCEL_ACTION, ARCHIVE_NOW_ACTION, REMINDER_SNOOZE_ACTION
from tasks.settings import Settings
from tasks.slack import dm_instead
from tasks.state import archive_pending, still_closing
from webhook import replies
from webhook.commands import HOST_COMMANDS, ROLE_COMMANDS, parse_command
from webhook.containment import start_lookup
from webhook.free_text import responder_text
from webhook.handoff import Handoff, Resumed
from webhook.incidents import IncidentDirectory
from webhook.modal import (
    CALLBACK_ID,
    PEOPLE,
    create_modal,
    origin_channel,
    read_submission,
    submitted_values,
)
from webhook.reading import missing, missing_text, run_id_of, slack_id, text_of, user_of
from webhook.role_listeners import needs_trigger, refusal, register_role_forms, run_role_command

log = logging.getLogger("irbot.webhook")
Respond = Callable[..., Awaitable[Any]]


@asynccontextmanager
async def reporting(respond: Respond, what: str) -> AsyncIterator[None]:
    """After the ack an exception reaches only the log: tell the responder ourselves."""
    try:
        yield
    except Exception:
        error_id = uuid.uuid4().hex[:8]
        log.exception("Failed while %s (error id %s)", what, error_id)
        await respond(text=replies.prefect_down(what, error_id), response_type="ephemeral",
                      replace_original=False)


async def tell_user(client: AsyncWebClient, channel: str | None, user: str, text: str) -> None:
    """tasks.slack.tell_user on Bolt's async client: ephemeral where the person is, else a DM."""
    if channel:
        try:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        except SlackApiError as exc:
            if not dm_instead(exc):
                raise
    await client.chat_postMessage(channel=user, text=text)


def register(app: AsyncApp, settings: Settings, handoff: Handoff,
             incidents: IncidentDirectory) -> None:
    """Attach every listener to the Bolt app."""

    @app.command("/irbot")
    async def irbot_command(ack: Any, command: dict[str, Any], respond: Respond,
                            client: AsyncWebClient) -> None:
        """Route `/irbot <subcommand>`."""
        cmd = parse_command(text_of(command, "text"))
        if cmd.name == "help":
            await ack(text=replies.help_text(cmd.problem))
            return
        # Everything but help acts for someone somewhere, and may answer after the ack.
        needed = ("user_id", "channel_id", "response_url") + (
            ("trigger_id",) if cmd.name == "create" or needs_trigger(cmd) else ())
        lacking = missing(command, *needed)
        if lacking:
            log.warning("/irbot %s without %s: answered, nothing started", cmd.name,
                        ", ".join(lacking))
            await ack(text=missing_text(lacking))
            return
        user, channel = text_of(command, "user_id"), text_of(command, "channel_id")
        channel_name = text_of(command, "channel_name")
        trigger = text_of(command, "trigger_id") or uuid.uuid4().hex
        if cmd.name == "page":
            team = cmd.args[0] if cmd.args else ""
            if cmd.problem or team not in settings.PAGERDUTY_ROUTING_KEYS:
                await ack(text=replies.unknown_team(team, settings.pagerduty_teams))
                return
            await ack()
            # Plain and masked before it becomes a parameter, a page and a Jira comment.
            message = responder_text(cmd.args[1], settings.IRBOT_REDACT_SECRETS)
            async with reporting(respond, f"page for {team}"):
                await handoff.start_run(deployments.PAGE, {
                    "channel_id": channel, "team": team, "message": message,
                    "requested_by": user}, f"page-{trigger}")
                await respond(text=replies.paging(team), response_type="ephemeral")
            return
        refused = refusal(cmd, user)
        if refused:
            await ack(text=refused)
            return
        if cmd.name in HOST_COMMANDS and (cmd.problem or not settings.falcon_configured):
            await ack(text=cmd.problem or replies.CONTAIN_NOT_CONFIGURED)
            return
        if cmd.name != "create" and incidents.known_not_incident(channel):
            # Known from a moment ago: answer in the ack itself, no I/O at all.
            await ack(text=replies.closed_or_unknown(channel_name, cmd.name))
            return
        await ack()
        if cmd.name == "create":
            try:
                await client.views_open(trigger_id=trigger, view=create_modal(channel, user))
            except SlackApiError as exc:
                await respond(text=replies.form_not_opened(exc.response.get("error")),
                              response_type="ephemeral")
            return
        async with reporting(respond, cmd.name):
            state = await incidents.find(channel)
            archive_run = await handoff.run_state(state.archive_flow_run_id) if state else None
            closing = state is not None and still_closing(state, archive_run)
            if state is None or closing:
                await respond(text=replies.closed_or_unknown(channel_name, cmd.name, closing),
                              response_type="ephemeral")
                return
            deadline = state.archive_deadline if archive_pending(state, archive_run) else None
            if cmd.name in ROLE_COMMANDS:
                await run_role_command(cmd, state, user, trigger, settings, handoff, client,
                                       respond)
            elif cmd.name == "status":
                await respond(text=replies.status_text(state, deadline), response_type="ephemeral")
            elif cmd.name == "backup":
                await handoff.start_run(deployments.BACKUP, {
                    "channel_id": channel, "requested_by": user}, f"backup-{trigger}")
                await respond(text=replies.BACKUP_REQUESTED, response_type="ephemeral")
            elif cmd.name == "archive":
                if deadline is not None:
                    await respond(text=replies.archive_pending(deadline),
                                  response_type="ephemeral")
                    return
                await handoff.start_run(deployments.ARCHIVE, {
                    "channel_id": channel, "requested_by": user}, f"archive-{trigger}")
                await respond(text=replies.ARCHIVE_REQUESTED, response_type="ephemeral")
            elif cmd.name in HOST_COMMANDS:
                await start_lookup(handoff, cmd.name, cmd.args[0], channel, user, trigger)
                await respond(text=replies.looking_up(cmd.args[0]), response_type="ephemeral")

    register_role_forms(app, settings, handoff, tell_user)

    @app.view(CALLBACK_ID)
    async def create_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any],
                               client: AsyncWebClient) -> None:
        """Refuse bad input inside the modal; otherwise close it and start the create flow."""
        request = read_submission(submitted_values(view))
        if isinstance(request, dict):
            await ack(response_action="errors", errors=request)
            return
        user, view_id, origin = user_of(body), text_of(view, "id"), origin_channel(view)
        if not user or not view_id:
            # Without them there is no requester and no idempotency key: say so in the modal.
            log.warning("Incident form submitted without %s: refused in the form",
                        ", ".join(w for w, there in (("a user", user), ("a view id", view_id))
                                  if not there))
            await ack(response_action="errors", errors={PEOPLE: replies.FORM_UNREADABLE})
            return
        await ack()
        params = {
            "requested_by": user, "invitees": request.invitees, "title": request.title,
            "severity": request.severity, "existing_case": request.existing_case,
            "exec_channel": request.exec_channel, "exec_invitees": request.exec_invitees,
            "origin_channel": origin, "request_id": str(view["id"]),
            "commander": request.commander, "private": request.private,
        }
        try:
            # One incident per modal, however often Slack delivers the submission.
            await handoff.start_run(deployments.CREATE, params, f"create-{view_id}")
        except Exception:
            log.exception("Could not start create-incident")
            await tell_user(client, origin, user, replies.prefect_down("incident"))
            return
        await tell_user(client, origin, user, replies.creating(request.existing_case))

    async def archive_button(ack: Any, body: dict[str, Any], action: dict[str, Any],
                             respond: Respond, decision: str) -> None:
        await ack()
        run_id, user, answerable = (run_id_of(action.get("value")), user_of(body),
                                    bool(text_of(body, "response_url")))
        if run_id is None or not user or not answerable:
            lacking = [what for what, there in (("a run id", run_id), ("a user", user),
                                                ("a response_url", answerable)) if not there]
            log.warning("Archive button without %s: nothing resumed", ", ".join(lacking))
            if answerable:
                await respond(text=replies.BUTTON_UNREADABLE, response_type="ephemeral",
                              replace_original=False)
            return
        async with reporting(respond, "archive decision"):
            outcome = await handoff.resume_archive(run_id, decision, user)
            if outcome is Resumed.ALREADY_DECIDED:
                await respond(text=replies.ALREADY_DECIDED, response_type="ephemeral",
                              replace_original=False)

    @app.action(ARCHIVE_CANCEL_ACTION)
    async def archive_cancel(ack: Any, body: dict[str, Any], action: dict[str, Any],
                             respond: Respond) -> None:
        """Cancel a pending archive."""
        await archive_button(ack, body, action, respond, "cancel")

    @app.action(ARCHIVE_NOW_ACTION)
    async def archive_now(ack: Any, body: dict[str, Any], action: dict[str, Any],
                          respond: Respond) -> None:
        """Skip the rest of the wait."""
        await archive_button(ack, body, action, respond, "archive")

    @app.action(REMINDER_SNOOZE_ACTION)
    async def reminder_snooze(ack: Any, body: dict[str, Any], action: dict[str, Any],
                              respond: Respond) -> None:
        """Snooze an update reminder: answered now, done by a remind-incident run."""
        await ack()
        container = body.get("container")
        channel = slack_id(text_of(action, "value"))
        reminder = text_of(container, "message_ts") if isinstance(container, dict) else ""
        user, answerable = user_of(body), bool(text_of(body, "response_url"))
        if not (channel and reminder and user and answerable):
            log.warning("Snooze button without its channel, message, user or response_url: "
                        "nothing snoozed")
            if answerable:
                await respond(text=replies.SNOOZE_UNREADABLE, response_type="ephemeral",
                              replace_original=False)
            return
        async with reporting(respond, "snooze"):
            # Keyed by the reminder: a double click (or two people's) snoozes once.
            await handoff.start_run(deployments.REMIND, {
                "channel_id": channel, "snoozed_by": user, "reminder_ts": reminder},
                f"snooze-{channel}-{reminder}")
            await respond(text=replies.SNOOZING, response_type="ephemeral",
                          replace_original=False)
