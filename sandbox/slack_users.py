"""auth.test, users.info, users.list, usergroups.users.list."""

from __future__ import annotations

from typing import Any

from sandbox.pagination import offset_page
from sandbox.slack_common import clamp
from sandbox.slack_params import Params, SlackError
from sandbox.slack_store import BOT_NAME, Workspace

USERS_LIST_MAX = 200


def auth_test(ws: Workspace, p: Params) -> dict[str, Any]:
    return {
        "url": "https://sandbox.slack.com/",
        "team": "Sandbox",
        "user": BOT_NAME,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def users_info(ws: Workspace, p: Params) -> dict[str, Any]:
    user = ws.users.get(p.get_str("user") or "")
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user.to_api(ws.team_id)}


def users_list(ws: Workspace, p: Params) -> dict[str, Any]:
    limit = clamp(p.get_int("limit", 0), USERS_LIST_MAX, USERS_LIST_MAX)
    page, next_cursor = offset_page(list(ws.users.values()), p.get_str("cursor"), limit)
    return {
        "members": [u.to_api(ws.team_id) for u in page],
        "cache_ts": 0,
        "response_metadata": {"next_cursor": next_cursor},
    }


def usergroup_members(ws: Workspace, p: Params) -> dict[str, Any]:
    group = ws.usergroups.get(p.get_str("usergroup") or "")
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group[1])}
