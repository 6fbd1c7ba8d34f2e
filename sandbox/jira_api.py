"""Jira Cloud REST v2 under /jira: the calls the `jira` library makes for this project."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import mimetypes
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from sandbox.jira_store import ISSUE_TYPES, PERMISSIONS
from sandbox.recording import RecordedRequest, safe_headers
from sandbox.state import SandboxState
from sandbox.web import fault_response, json_response

MOUNT = "/jira"
SUMMARY_MAX = 255


@dataclass
class Upload:
    field: str
    filename: str
    content_type: str
    content: bytes


@dataclass
class JiraCall:
    method: str
    path: str  # relative to the mount, e.g. /rest/api/2/issue
    base: str  # the Jira root URL as the client addressed it
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None
    body_error: str | None = None
    uploads: list[Upload] = field(default_factory=list)
    match: dict[str, str] = field(default_factory=dict)


Handler = Callable[[SandboxState, JiraCall], Response]


def errors(status: int, messages: list[str] | None = None,
           fields: dict[str, str] | None = None) -> Response:
    """Jira's error shape, always both keys."""
    return json_response({"errorMessages": messages or [], "errors": fields or {}}, status)


def _not_found_issue() -> Response:
    return errors(404, ["Issue does not exist or you do not have permission to see it."])


# --- handlers (called with the lock held) ---------------------------------------------


def server_info(state: SandboxState, call: JiraCall) -> Response:
    return json_response({
        "baseUrl": call.base,
        "version": "1001.0.0",
        "versionNumbers": [1001, 0, 0],
        "deploymentType": "Cloud",
        "buildNumber": 100_001,
        "serverTitle": "Jira sandbox",
    })


def myself(state: SandboxState, call: JiraCall) -> Response:
    return json_response(state.jira.author(call.base))


def fields_list(state: SandboxState, call: JiraCall) -> Response:
    names = ["summary", "description", "project", "issuetype", "status", "attachment",
             "comment", "labels", "created", "updated"]
    return json_response([
        {"id": n, "key": n, "name": n.capitalize(), "custom": False, "navigable": True,
         "searchable": True, "clauseNames": [n]} for n in names
    ])


def issue_types(state: SandboxState, call: JiraCall) -> Response:
    return json_response([
        {"self": f"{call.base}/rest/api/2/issuetype/{type_id}", "id": type_id, "name": name,
         "subtask": False} for name, type_id in ISSUE_TYPES.items()
    ])


def project(state: SandboxState, call: JiraCall) -> Response:
    key = call.match["key"]
    found = state.jira.project(key)
    if found is None:
        return errors(404, [f"No project could be found with key '{key}'."])
    # Jira Cloud lists the project's issue types with it; `irbot check` reads them from here.
    return json_response({"self": f"{call.base}/rest/api/2/project/{found['id']}", **found,
                          "issueTypes": [{"id": type_id, "name": name, "subtask": False}
                                         for name, type_id in ISSUE_TYPES.items()]})


def my_permissions(state: SandboxState, call: JiraCall) -> Response:
    wanted = [p.strip() for p in call.query.get("permissions", "").split(",") if p.strip()]
    if not wanted:  # Jira Cloud requires the list
        return errors(400, ["The 'permissions' query parameter is required."])
    key = call.query.get("projectKey")
    if key is not None and state.jira.project(key) is None:
        return errors(404, [f"No project could be found with key '{key}'."])
    unknown = [p for p in wanted if p not in PERMISSIONS]
    if unknown:
        return errors(400, [f"Unrecognized permission keys: {', '.join(unknown)}"])
    return json_response({"permissions": {
        name: {"id": str(n), "key": name, "name": name.replace("_", " ").capitalize(),
               "type": "PROJECT", "havePermission": name in state.jira.permissions}
        for n, name in enumerate(wanted, start=10)}})


def create_issue(state: SandboxState, call: JiraCall) -> Response:
    body = call.body if isinstance(call.body, dict) else {}
    fields = body.get("fields")
    if call.body_error or not isinstance(fields, dict):
        return errors(400, [call.body_error or "Request must contain 'fields'."])
    problems: dict[str, str] = {}
    found = _project_ref(state, fields.get("project"), problems)
    summary = fields.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        problems["summary"] = "You must specify a summary of the issue."
    elif len(summary) > SUMMARY_MAX:
        problems["summary"] = "Summary must be less than 255 characters."
    issuetype = _issuetype_ref(fields.get("issuetype"), problems)
    description = fields.get("description")
    if description is not None and not isinstance(description, str):
        problems["description"] = "Operation value must be a string"
    if problems or found is None or issuetype is None:
        return errors(400, [], problems)
    extra = {k: v for k, v in fields.items()
             if k not in ("project", "summary", "issuetype", "description")}
    issue = state.jira.create_issue(found, str(summary), description=description,
                                    issuetype=issuetype, extra=extra)
    return json_response(
        {"id": issue.id, "key": issue.key, "self": f"{call.base}/rest/api/2/issue/{issue.id}"},
        201,
    )


def _project_ref(state: SandboxState, ref: Any, problems: dict[str, str]) -> dict[str, str] | None:
    if isinstance(ref, dict):
        ref = ref.get("key") or ref.get("id")
    if not ref:
        problems["project"] = "project is required"
        return None
    found = state.jira.project(str(ref))
    if found is None:
        problems["project"] = "Specify a valid project ID or key"
    return found


def _issuetype_ref(ref: Any, problems: dict[str, str]) -> str | None:
    if isinstance(ref, dict):
        ref = ref.get("name") or ref.get("id")
    if not ref:
        problems["issuetype"] = "Specify an issue type"
        return None
    for name, type_id in ISSUE_TYPES.items():
        if str(ref) in (name, type_id):
            return name
    problems["issuetype"] = "Specify a valid issue type"
    return None


# Jira's default priority scheme: an edit naming another priority is refused, as Jira does.
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
EDITABLE = ("priority", "labels")  # what irbot edits; anything else is refused loudly


def edit_issue(state: SandboxState, call: JiraCall) -> Response:
    """PUT /issue/{key}: `fields.priority` ({"name"} or {"id"}) and `labels`; 204."""
    issue = state.jira.issue(call.match["key"])
    if issue is None:
        return _not_found_issue()
    body = call.body if isinstance(call.body, dict) else {}
    fields = body.get("fields") or {}
    if call.body_error or not isinstance(fields, dict):
        return errors(400, [call.body_error or "Request must contain 'fields'."])
    problems = {name: f"Field '{name}' cannot be set. It is not on the appropriate screen, "
                "or unknown." for name in fields if name not in EDITABLE}
    raw = fields.get("priority")
    ref: dict[str, Any] = raw if isinstance(raw, dict) else {}
    chosen = next((n for n, i in PRIORITIES.items()
                   if ref.get("name") == n or ref.get("id") == i), None)
    if "priority" in fields and chosen is None:
        problems["priority"] = f"Priority name '{ref.get('name')}' is not valid"
    if problems:
        return errors(400, [], problems)  # nothing changes
    if chosen is not None:
        number = PRIORITIES[chosen]
        issue.extra["priority"] = {"name": chosen, "id": number,
                                   "self": f"{call.base}/rest/api/2/priority/{number}"}
    if isinstance(fields.get("labels"), list):
        issue.extra["labels"] = [str(label) for label in fields["labels"]]
    return Response(status_code=204)


def get_issue(state: SandboxState, call: JiraCall) -> Response:
    issue = state.jira.issue(call.match["key"])
    if issue is None:
        return _not_found_issue()
    wanted_raw = [f.strip() for f in call.query.get("fields", "").split(",") if f.strip()]
    wanted = None if not wanted_raw or {"*all", "*navigable"} & set(wanted_raw) \
        else set(wanted_raw)
    return json_response(state.jira.issue_json(issue, call.base, wanted))


def get_comments(state: SandboxState, call: JiraCall) -> Response:
    issue = state.jira.issue(call.match["key"])
    if issue is None:
        return _not_found_issue()
    return json_response(state.jira.comments_page(issue, call.base))


def add_comment(state: SandboxState, call: JiraCall) -> Response:
    issue = state.jira.issue(call.match["key"])
    if issue is None:
        return _not_found_issue()
    body = call.body.get("body") if isinstance(call.body, dict) else None
    if not isinstance(body, str) or not body.strip():
        return errors(400, [], {"comment": "Comment body can not be empty!"})
    comment = state.jira.add_comment(issue, body)
    return json_response(state.jira.comment_json(comment, issue, call.base), 201)


def add_attachments(state: SandboxState, call: JiraCall) -> Response:
    # Jira refuses uploads without this header (XSRF protection); clients must send it.
    if call.headers.get("x-atlassian-token", "").lower() not in ("no-check", "nocheck"):
        return PlainTextResponse("XSRF check failed", 403)
    issue = state.jira.issue(call.match["key"])
    if issue is None:
        return _not_found_issue()
    files = [u for u in call.uploads if u.field == "file"]
    if not files:
        return errors(400, ["No attachment was found in the multipart part 'file'."])
    added = []
    for upload in files:
        guessed = mimetypes.guess_type(upload.filename)[0]
        mime = guessed or upload.content_type or "application/octet-stream"
        attachment = state.jira.add_attachment(issue, upload.filename, mime, upload.content)
        added.append(state.jira.attachment_json(attachment, call.base))
    return json_response(added)


def get_attachment(state: SandboxState, call: JiraCall) -> Response:
    attachment = state.jira.attachments.get(call.match["id"])
    if attachment is None:
        return errors(404, [f"The attachment with id '{call.match['id']}' does not exist"])
    return json_response(state.jira.attachment_json(attachment, call.base))


def delete_attachment(state: SandboxState, call: JiraCall) -> Response:
    if not state.jira.delete_attachment(call.match["id"]):
        return errors(404, [f"The attachment with id '{call.match['id']}' does not exist"])
    return Response(status_code=204)


def attachment_content(state: SandboxState, call: JiraCall) -> Response:
    attachment = state.jira.attachments.get(call.match["id"])
    if attachment is None:
        return errors(404, ["The requested attachment does not exist."])
    return Response(attachment.content, media_type=attachment.mime_type)


# The JQL irbot sends: clauses `field = "value"` joined by AND, on project and labels only.
_JQL_CLAUSE = re.compile(r'\s*(project|labels)\s*=\s*"?([^"\s]+)"?\s*', re.IGNORECASE)


def _jql_filters(jql: str) -> list[tuple[str, str]] | None:
    filters = []
    for clause in re.split(r"\s+AND\s+", jql.strip(), flags=re.IGNORECASE):
        match = _JQL_CLAUSE.fullmatch(clause)
        if match is None:
            return None
        filters.append((match[1].lower(), match[2]))
    return filters


def search_jql(state: SandboxState, call: JiraCall) -> Response:
    """`GET /search/jql` (Cloud's enhanced search), for the small JQL subset above."""
    filters = _jql_filters(call.query.get("jql", ""))
    if filters is None:
        return errors(400, [f"The sandbox cannot parse this JQL: {call.query.get('jql')!r}"])
    found = [
        issue for issue in state.jira.issues.values()
        if all((issue.key.split("-")[0] == value.upper()) if name == "project"
               else value in issue.extra.get("labels", []) for name, value in filters)
    ]
    limit = int(call.query.get("maxResults", "50") or 50)
    return json_response({"issues": [state.jira.issue_json(issue, call.base, {"summary"})
                                      for issue in found[:limit]], "isLast": True})


ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (m, re.compile(p), h) for m, p, h in [
        ("GET", r"/rest/api/2/serverInfo", server_info),
        ("GET", r"/rest/api/2/myself", myself),
        ("GET", r"/rest/api/2/mypermissions", my_permissions),
        ("GET", r"/rest/api/2/field", fields_list),
        ("GET", r"/rest/api/2/issuetype", issue_types),
        ("GET", r"/rest/api/2/project/(?P<key>[^/]+)", project),
        ("POST", r"/rest/api/2/issue", create_issue),
        ("GET", r"/rest/api/2/search/jql", search_jql),
        ("GET", r"/rest/api/2/issue/(?P<key>[^/]+)", get_issue),
        ("PUT", r"/rest/api/2/issue/(?P<key>[^/]+)", edit_issue),
        ("GET", r"/rest/api/2/issue/(?P<key>[^/]+)/comment", get_comments),
        ("POST", r"/rest/api/2/issue/(?P<key>[^/]+)/comment", add_comment),
        ("POST", r"/rest/api/2/issue/(?P<key>[^/]+)/attachments", add_attachments),
        ("GET", r"/rest/api/2/attachment/(?P<id>\d+)", get_attachment),
        ("DELETE", r"/rest/api/2/attachment/(?P<id>\d+)", delete_attachment),
        ("GET", r"/secure/attachment/(?P<id>\d+)/(?P<filename>.+)", attachment_content),
    ]
]


def _dispatch(state: SandboxState, call: JiraCall) -> Response:
    path_known = False
    for method, pattern, handler in ROUTES:
        match = pattern.fullmatch(call.path)
        if match is None:
            continue
        path_known = True
        if method == call.method:
            call.match = match.groupdict()
            return handler(state, call)
    if path_known:
        return errors(405, [f"Method {call.method} is not allowed here."])
    return errors(404, [f"No REST resource at {call.path}."])


# --- the HTTP endpoint ----------------------------------------------------------------


def _basic_auth_ok(header: str, user: str, token: str) -> bool:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        given_user, _, given_token = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return hmac.compare_digest(given_user.encode(), user.encode()) and hmac.compare_digest(
        given_token.encode(), token.encode())


async def _read_call(request: Request) -> JiraCall:
    path = request.url.path[len(MOUNT):] or "/"
    base = str(request.base_url).rstrip("/") + MOUNT
    call = JiraCall(request.method, path, base, dict(request.query_params),
                    safe_headers(request.headers))
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        try:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    call.uploads.append(Upload(key, value.filename or key,
                                               value.content_type or "", await value.read()))
        finally:
            await form.close()
        return call
    raw = await request.body()
    if raw.strip():
        try:
            call.body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            call.body_error = f"Unexpected character in the request body: {exc}"
    return call


def jira_routes(state: SandboxState) -> list[Route]:
    async def endpoint(request: Request) -> Response:
        call = await _read_call(request)
        header = request.headers.get("authorization", "")
        auth_ok = _basic_auth_ok(header, state.credentials.jira_user,
                                 state.credentials.jira_token)
        name = f"{call.method} {call.path}"
        with state.lock:
            fault = state.faults.take("jira", name)
            if fault is not None:
                response = fault_response(fault)
            elif not auth_ok:
                response = errors(401, ["You are not authenticated. "
                                        "Authentication required to perform this operation."])
            else:
                response = _dispatch(state, call)
        recorded_params: Any = call.body
        if call.uploads:
            recorded_params = {"files": [
                {"field": u.field, "filename": u.filename, "content_type": u.content_type,
                 "size": len(u.content)} for u in call.uploads]}
        state.record(RecordedRequest(
            service="jira",
            name=name,
            http_method=call.method,
            path=request.url.path,
            query=call.query,
            params=recorded_params,
            headers=call.headers,
            auth_present=bool(header),
            auth_valid=auth_ok,
            status=response.status_code,
            at=time.time(),
        ))
        return response

    return [Route(MOUNT + "/{path:path}", endpoint,
                  methods=["GET", "POST", "PUT", "DELETE", "PATCH"])]
