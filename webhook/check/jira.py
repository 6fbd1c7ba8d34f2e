"""Jira: reachable, credentials accepted (`myself`), the project and issue type exist, and the
account may create issues, comment and attach (`mypermissions`)."""

from __future__ import annotations

from typing import Any

import requests
from jira import JIRA
from jira.exceptions import JIRAError

from tasks.clients import jira_client
from tasks.settings import Settings
from webhook.check.model import Check, Status, not_checked, ok, unreachable

# What the flows do in the project: create the case, comment, attach the transcript and
# delete its previous copy.
PERMISSIONS = {
    "CREATE_ISSUES": "Create issues",
    "ADD_COMMENTS": "Add comments",
    "CREATE_ATTACHMENTS": "Create attachments",
    "DELETE_OWN_ATTACHMENTS": "Delete own attachments",
}
NAMES = ("Jira reachable", "Jira credentials", "Jira project", "Jira issue type",
         "Jira permissions")


def jira_checks(settings: Settings, timeout: float) -> list[Check]:
    jira = jira_client(settings, timeout=timeout)
    try:
        checks = _connect(jira, settings)
        if not all(c.passed for c in checks):
            return _rest_not_checked(checks, "Jira did not accept irbot")
        project, checks = _project(jira, settings, checks)
        if project is None:
            return _rest_not_checked(checks, "no project to look in")
        checks.append(_issue_type(jira, settings, project))
        checks.append(_permissions(jira, settings))
        return checks
    finally:
        jira.close()  # type: ignore[no-untyped-call]


def _connect(jira: JIRA, settings: Settings) -> list[Check]:
    """One call answers both questions: does JIRA_URL answer, and does it accept us?"""
    reach, creds = NAMES[0], NAMES[1]
    try:
        me = jira.myself()
    except requests.RequestException as exc:
        return [unreachable(reach, settings.JIRA_URL, exc, "JIRA_URL")]
    except JIRAError as exc:
        status = exc.status_code or 0
        if status == 401:
            return [ok(reach, f"{settings.JIRA_URL} answered"),
                    Check(creds, Status.REFUSED, "Jira refused JIRA_USER / JIRA_API_TOKEN (401)",
                          "set JIRA_USER to the account's e-mail and JIRA_API_TOKEN to an API "
                          "token of that account (id.atlassian.com → Security → API tokens), "
                          "not its password")]
        if status == 403:
            return [ok(reach, f"{settings.JIRA_URL} answered"),
                    Check(creds, Status.REFUSED, "Jira refused the login (403)",
                          "log in to Jira once in a browser as JIRA_USER (a CAPTCHA may be "
                          "pending), or check that the account is active")]
        if status >= 500:
            return [Check(reach, Status.UNREACHABLE, f"{settings.JIRA_URL} answered HTTP "
                                                     f"{status}", "try again shortly")]
        return [Check(reach, Status.FAILED, f"no Jira REST API at JIRA_URL (HTTP {status})",
                      "set JIRA_URL to the site's root, e.g. https://your-company.atlassian.net")]
    return [ok(reach, f"{settings.JIRA_URL} answered"),
            ok(creds, f"accepted for {me.get('displayName') or 'the account'}")]


def _project(jira: JIRA, settings: Settings,
             checks: list[Check]) -> tuple[dict[str, Any] | None, list[Check]]:
    key = settings.JIRA_PROJECT
    try:
        raw: dict[str, Any] = jira.project(key).raw
    except JIRAError as exc:
        if exc.status_code == 404:
            checks.append(Check(NAMES[2], Status.FAILED,
                                f"JIRA_PROJECT {key} does not exist, or JIRA_USER cannot see it",
                                "set JIRA_PROJECT to the key of an existing project (the prefix "
                                "of its issue keys), or give the account Browse projects there"))
        else:
            checks.append(Check(NAMES[2], Status.FAILED, f"Jira answered HTTP {exc.status_code} "
                                f"for project {key}", "check JIRA_PROJECT"))
        return None, checks
    except requests.RequestException as exc:
        checks.append(unreachable(NAMES[2], settings.JIRA_URL, exc, "JIRA_URL"))
        return None, checks
    checks.append(ok(NAMES[2], f"{raw.get('key', key)} exists (\"{raw.get('name', '')}\")"))
    return raw, checks


def _issue_type(jira: JIRA, settings: Settings, project: dict[str, Any]) -> Check:
    wanted = settings.JIRA_ISSUE_TYPE
    types = project.get("issueTypes")
    if types is None:  # older servers leave them out of the project: the global list will do
        types = [t.raw for t in jira.issue_types()]
    names = [str(t.get("name")) for t in types if not t.get("subtask")]
    if wanted in names:
        return ok(NAMES[3], f"{wanted} exists in {settings.JIRA_PROJECT}")
    return Check(NAMES[3], Status.FAILED,
                 f"JIRA_ISSUE_TYPE {wanted} is not an issue type of {settings.JIRA_PROJECT} "
                 f"(it has {', '.join(names) or 'none'})",
                 "set JIRA_ISSUE_TYPE to one of those")


def _permissions(jira: JIRA, settings: Settings) -> Check:
    try:
        answer = jira.my_permissions(projectKey=settings.JIRA_PROJECT,
                                     permissions=",".join(PERMISSIONS))
    except JIRAError as exc:
        return Check(NAMES[4], Status.FAILED, f"Jira answered HTTP {exc.status_code} to "
                     "mypermissions", "check the account's access to the project")
    except requests.RequestException as exc:
        return unreachable(NAMES[4], settings.JIRA_URL, exc, "JIRA_URL")
    held = answer.get("permissions") or {}
    missing = [label for key, label in PERMISSIONS.items()
               if not (held.get(key) or {}).get("havePermission")]
    if missing:
        return Check(NAMES[4], Status.FAILED,
                     f"JIRA_USER may not: {', '.join(missing)} in {settings.JIRA_PROJECT}",
                     "grant them to the account in the project's permission scheme (Project "
                     "settings → Permissions)")
    return ok(NAMES[4], "may create issues, comment, attach and delete its own attachments")


def _rest_not_checked(checks: list[Check], because: str) -> list[Check]:
    done = {c.name for c in checks}
    return checks + [not_checked(n, because) for n in NAMES if n not in done]


def jira_credentials(settings: Settings, timeout: float) -> list[Check]:
    """Reachable and accepted: the part `irbot serve` checks at start."""
    jira = jira_client(settings, timeout=timeout)
    try:
        return _connect(jira, settings)
    finally:
        jira.close()  # type: ignore[no-untyped-call]
