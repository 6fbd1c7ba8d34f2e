"""views.open and views.update, with the modal limits Slack enforces."""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

from sandbox.ids import new_slack_id
from sandbox.slack_params import Params, SlackError
from sandbox.slack_store import Workspace

VIEW_MAX_BYTES = 250_000
TITLE_MAX = 24
BUTTON_TEXT_MAX = 24
BLOCKS_MAX = 100
PRIVATE_METADATA_MAX = 3000
CALLBACK_ID_MAX = 255


def _view_arg(p: Params) -> dict[str, Any]:
    view = p.get_json("view")
    if not isinstance(view, dict):
        raise _invalid("view is required and must be an object", "/view")
    if len(json.dumps(view, separators=(",", ":"))) > VIEW_MAX_BYTES:
        raise SlackError("view_too_large")
    _check_modal(view)
    return view


def _invalid(message: str, pointer: str) -> SlackError:
    return SlackError("invalid_arguments", response_metadata={
        "messages": [f"[ERROR] {message} [json-pointer:{pointer}]"]})


def _check_modal(view: dict[str, Any]) -> None:
    if view.get("type") != "modal":
        raise _invalid("must be 'modal'", "/view/type")
    for name, required in (("title", True), ("submit", False), ("close", False)):
        element = view.get(name)
        if element is None:
            if required:
                raise _invalid("must be provided", f"/view/{name}")
            continue
        text = element.get("text") if isinstance(element, dict) else None
        if not isinstance(text, str) or not text:
            raise _invalid("must be a plain_text object", f"/view/{name}")
        limit = TITLE_MAX if name == "title" else BUTTON_TEXT_MAX
        if len(text) > limit:
            raise _invalid(f"must be less than {limit + 1} characters", f"/view/{name}/text")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        raise _invalid("must be provided", "/view/blocks")
    if len(blocks) > BLOCKS_MAX:
        raise _invalid(f"no more than {BLOCKS_MAX} items allowed", "/view/blocks")
    if len(str(view.get("private_metadata") or "")) > PRIVATE_METADATA_MAX:
        raise _invalid(f"must be less than {PRIVATE_METADATA_MAX + 1} characters",
                       "/view/private_metadata")
    if len(str(view.get("callback_id") or "")) > CALLBACK_ID_MAX:
        raise _invalid(f"must be less than {CALLBACK_ID_MAX + 1} characters",
                       "/view/callback_id")


def _materialise(ws: Workspace, view: dict[str, Any], view_id: str,
                 previous: dict[str, Any] | None) -> dict[str, Any]:
    """The view as Slack returns it: the submitted fields plus Slack's bookkeeping."""
    return {
        "id": view_id,
        "team_id": ws.team_id,
        "type": view["type"],
        "private_metadata": "",
        "callback_id": "",
        "external_id": "",
        "clear_on_close": False,
        "notify_on_close": False,
        "submit": None,
        "close": None,
        **copy.deepcopy(view),
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "previous_view_id": None,
        "root_view_id": (previous or {}).get("root_view_id", view_id),
        "app_id": ws.app_id,
        "bot_id": ws.bot_id,
    }


def open_(ws: Workspace, p: Params) -> dict[str, Any]:
    trigger_id = p.get_str("trigger_id") or ""
    view = _view_arg(p)
    # Checked after the view so a malformed view does not burn the single-use trigger.
    problem = ws.exchange_trigger(trigger_id)
    if problem:
        raise SlackError(problem)
    view_id = new_slack_id("V", ws.views)
    answer = _materialise(ws, view, view_id, None)
    ws.views[view_id] = {
        **copy.deepcopy(answer),
        "trigger_id": trigger_id,
        "user": ws.triggers[trigger_id].user,
    }
    return {"view": answer}


def update(ws: Workspace, p: Params) -> dict[str, Any]:
    view_id = p.get_str("view_id") or ""
    external_id = p.get_str("external_id") or ""
    if not view_id and external_id:
        view_id = next((k for k, v in ws.views.items() if v.get("external_id") == external_id),
                       "")
    stored = ws.views.get(view_id)
    if stored is None:
        raise SlackError("not_found")
    expected_hash = p.get_str("hash")
    if expected_hash and expected_hash != stored["hash"]:
        raise SlackError("hash_conflict")
    view = _view_arg(p)
    answer = _materialise(ws, view, view_id, stored)
    ws.views[view_id] = {
        **copy.deepcopy(answer),
        "trigger_id": stored.get("trigger_id"),
        "user": stored.get("user"),
    }
    return {"view": answer}
