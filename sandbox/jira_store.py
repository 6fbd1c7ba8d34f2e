"""The emulated Jira site: projects, issues, comments, attachments, and their REST shapes.

No locking here: every caller holds the sandbox lock.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sandbox.ids import jira_time

ISSUE_TYPES = {"Task": "10001", "Bug": "10002", "Story": "10003", "Incident": "10004",
               "Epic": "10005"}
ACCOUNT_ID = "5b10ac8d82e05b22cc7d4ef5"
# Project permissions the sandbox account holds unless a test takes some away (mypermissions).
PERMISSIONS = ("BROWSE_PROJECTS", "CREATE_ISSUES", "ADD_COMMENTS", "CREATE_ATTACHMENTS",
               "DELETE_OWN_ATTACHMENTS")


@dataclass
class JiraComment:
    id: str
    body: str
    created: str


@dataclass
class JiraAttachment:
    id: str
    issue_key: str
    filename: str
    mime_type: str
    content: bytes
    created: str


@dataclass
class JiraIssue:
    id: str
    key: str
    project: dict[str, str]
    issuetype: dict[str, str]
    summary: str
    description: str | None
    created: str
    updated: str
    extra: dict[str, Any] = field(default_factory=dict)
    comments: list[JiraComment] = field(default_factory=list)
    attachment_ids: list[str] = field(default_factory=list)


class JiraStore:
    def __init__(self, projects: Iterable[str], user_email: str,
                 permissions: Iterable[str] = PERMISSIONS) -> None:
        self.user_email = user_email
        self.permissions = frozenset(permissions)
        self.projects = {
            key: {"id": str(10000 + n), "key": key, "name": f"{key} (sandbox)"}
            for n, key in enumerate(projects)
        }
        self.issues: dict[str, JiraIssue] = {}
        self.attachments: dict[str, JiraAttachment] = {}
        self._issue_ids = itertools.count(10001)
        self._issue_numbers: dict[str, itertools.count[int]] = {}
        self._comment_ids = itertools.count(10001)
        self._attachment_ids = itertools.count(10001)

    # --- look-ups ----------------------------------------------------------------------

    def project(self, key_or_id: str) -> dict[str, str] | None:
        for project in self.projects.values():
            if key_or_id in (project["key"], project["id"]):
                return project
        return None

    def issue(self, key_or_id: str) -> JiraIssue | None:
        wanted = key_or_id.upper()
        for issue in self.issues.values():
            if wanted in (issue.key, issue.id):
                return issue
        return None

    # --- changes -----------------------------------------------------------------------

    def create_issue(
        self, project: dict[str, str], summary: str, *, description: str | None = None,
        issuetype: str = "Task", extra: dict[str, Any] | None = None,
    ) -> JiraIssue:
        numbers = self._issue_numbers.setdefault(project["key"], itertools.count(1))
        now = jira_time()
        issue = JiraIssue(
            id=str(next(self._issue_ids)),
            key=f"{project['key']}-{next(numbers)}",
            project=dict(project),
            issuetype={"id": ISSUE_TYPES[issuetype], "name": issuetype},
            summary=summary,
            description=description,
            created=now,
            updated=now,
            extra=dict(extra or {}),
        )
        self.issues[issue.key] = issue
        return issue

    def add_comment(self, issue: JiraIssue, body: str) -> JiraComment:
        comment = JiraComment(str(next(self._comment_ids)), body, jira_time())
        issue.comments.append(comment)
        issue.updated = comment.created
        return comment

    def add_attachment(self, issue: JiraIssue, filename: str, mime_type: str,
                       content: bytes) -> JiraAttachment:
        attachment = JiraAttachment(
            str(next(self._attachment_ids)), issue.key, filename, mime_type, content, jira_time()
        )
        self.attachments[attachment.id] = attachment
        issue.attachment_ids.append(attachment.id)
        issue.updated = attachment.created
        return attachment

    def delete_attachment(self, attachment_id: str) -> bool:
        attachment = self.attachments.pop(attachment_id, None)
        if attachment is None:
            return False
        self.issues[attachment.issue_key].attachment_ids.remove(attachment_id)
        return True

    # --- REST shapes (base = the Jira root URL the client used) -----------------------

    def author(self, base: str) -> dict[str, Any]:
        return {
            "self": f"{base}/rest/api/2/user?accountId={ACCOUNT_ID}",
            "accountId": ACCOUNT_ID,
            "emailAddress": self.user_email,
            "displayName": "irbot",
            "active": True,
            "accountType": "atlassian",
        }

    def attachment_json(self, attachment: JiraAttachment, base: str) -> dict[str, Any]:
        return {
            "self": f"{base}/rest/api/2/attachment/{attachment.id}",
            "id": attachment.id,
            "filename": attachment.filename,
            "author": self.author(base),
            "created": attachment.created,
            "size": len(attachment.content),
            "mimeType": attachment.mime_type,
            "content": content_url(base, attachment),
        }

    def comment_json(self, comment: JiraComment, issue: JiraIssue, base: str) -> dict[str, Any]:
        return {
            "self": f"{base}/rest/api/2/issue/{issue.id}/comment/{comment.id}",
            "id": comment.id,
            "author": self.author(base),
            "body": comment.body,
            "updateAuthor": self.author(base),
            "created": comment.created,
            "updated": comment.created,
            "jsdPublic": True,
        }

    def comments_page(self, issue: JiraIssue, base: str) -> dict[str, Any]:
        comments = [self.comment_json(c, issue, base) for c in issue.comments]
        return {"comments": comments, "maxResults": len(comments), "total": len(comments),
                "startAt": 0}

    def issue_json(self, issue: JiraIssue, base: str,
                   wanted: set[str] | None = None) -> dict[str, Any]:
        """`wanted` None means every field (Jira's default, and "*all")."""
        fields: dict[str, Any] = {
            **issue.extra,
            "summary": issue.summary,
            "description": issue.description,
            "project": {"self": f"{base}/rest/api/2/project/{issue.project['id']}",
                        **issue.project},
            "issuetype": {"self": f"{base}/rest/api/2/issuetype/{issue.issuetype['id']}",
                          **issue.issuetype, "subtask": False},
            "status": {"self": f"{base}/rest/api/2/status/1", "id": "1", "name": "Open",
                       "statusCategory": {"id": 2, "key": "new", "name": "To Do"}},
            "created": issue.created,
            "updated": issue.updated,
            "reporter": self.author(base),
            "creator": self.author(base),
            "labels": issue.extra.get("labels", []),
            "attachment": [
                self.attachment_json(self.attachments[a], base) for a in issue.attachment_ids
            ],
            "comment": self.comments_page(issue, base),
        }
        if wanted is not None:
            fields = {k: v for k, v in fields.items() if k in wanted}
        return {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": issue.id,
            "self": f"{base}/rest/api/2/issue/{issue.id}",
            "key": issue.key,
            "fields": fields,
        }

    def snapshot(self, issue: JiraIssue, base: str, *, with_content: bool) -> dict[str, Any]:
        """The assertion view of one issue."""
        attachments = []
        for attachment_id in issue.attachment_ids:
            a = self.attachments[attachment_id]
            item: dict[str, Any] = {
                "id": a.id,
                "filename": a.filename,
                "size": len(a.content),
                "mime_type": a.mime_type,
                "created": a.created,
                "content_url": content_url(base, a),
            }
            if with_content:
                item["content"] = a.content
            attachments.append(item)
        return {
            "key": issue.key,
            "id": issue.id,
            "project": issue.project["key"],
            "issuetype": issue.issuetype["name"],
            "summary": issue.summary,
            "description": issue.description,
            "priority": (issue.extra.get("priority") or {}).get("name"),
            "created": issue.created,
            "comments": [c.body for c in issue.comments],
            "attachments": attachments,
        }


def content_url(base: str, attachment: JiraAttachment) -> str:
    return f"{base}/secure/attachment/{attachment.id}/{quote(attachment.filename)}"
