"""`irbot check` as an operator runs it, against sandboxes that are right and ones that are wrong;
and `irbot serve` refusing to start on what the check calls a hard failure."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import Sandbox
from sandbox.jira_store import PERMISSIONS
from sandbox.stack import irbot_settings
from tasks.deployments import ALL
from tasks.settings import load_settings
from tasks.slack_scopes import BOT_SCOPES
from tests.conftest import IRBOT_VARS
from webhook.check.model import Status
from webhook.check.run import check_command, startup_checks
from webhook.local_prefect import free_port

IRBOT = str(Path(sys.executable).with_name("irbot"))


def run_irbot(args: list[str], env: dict[str, str], cwd: Path,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # cwd: a folder without .env, so only `env` configures irbot.
    return subprocess.run([IRBOT, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


def base_env(settings: dict[str, str], **changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in IRBOT_VARS}
    env.update(settings)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def lines(output: str) -> dict[str, str]:
    """Check name → its whole line."""
    found = {}
    for line in output.splitlines():
        if line[:2] in ("✓ ", "✗ "):
            found[line[2:].split(":", 1)[0]] = line
    return found


def failed(output: str) -> list[str]:
    return [name for name, line in lines(output).items()
            if line.startswith("✗") and "not checked" not in line]


@pytest.fixture
def own_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A sandbox configured by the test (`@pytest.mark.parametrize(..., indirect=True)`)."""
    with Sandbox(**getattr(request, "param", {})) as sb:
        yield sb


def secrets_of(sb: Any) -> list[str]:
    return [sb.bot_token, sb.jira_token, sb.app_token]


def test_check_passes_against_the_sandbox_and_the_deployed_prefect(
        sandbox: Any, irbot_env: dict[str, str], irbot_serve: str, tmp_path: Path) -> None:
    result = run_irbot(["check"], base_env(irbot_env), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    found = lines(result.stdout)
    assert not failed(result.stdout), result.stdout
    for name in ("Settings", "Slack bot token", "Slack scopes", "Jira credentials",
                 "Jira project", "Jira issue type", "Jira permissions", "Prefect API"):
        assert found[name].startswith("✓"), result.stdout
    assert f"all {len(ALL)} present" in found["Prefect deployments"]
    assert result.stdout.rstrip().endswith("checks passed.")
    for secret in secrets_of(sandbox):
        assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize("own_sandbox", [
    {"bot_scopes": tuple(s for s in BOT_SCOPES if s != "chat:write.public")}], indirect=True)
def test_a_missing_scope_is_named_with_its_fix(own_sandbox: Sandbox, tmp_path: Path) -> None:
    env = base_env(irbot_settings(own_sandbox, 10), PREFECT_API_URL=None)
    result = run_irbot(["check"], env, tmp_path)
    assert result.returncode == 1
    assert failed(result.stdout) == ["Slack scopes"], result.stdout
    line = lines(result.stdout)["Slack scopes"]
    assert "lacks chat:write.public →" in line and "reinstall the app" in line


def test_a_wrong_jira_password_is_refused_and_the_rest_of_jira_not_checked(
        own_sandbox: Sandbox, tmp_path: Path) -> None:
    wrong = "not-the-jira-token-" + "x" * 8
    env = base_env(irbot_settings(own_sandbox, 10), PREFECT_API_URL=None, JIRA_API_TOKEN=wrong)
    result = run_irbot(["check"], env, tmp_path)
    assert result.returncode == 1
    assert failed(result.stdout) == ["Jira credentials"], result.stdout
    found = lines(result.stdout)
    assert "refused JIRA_USER / JIRA_API_TOKEN (401) → " in found["Jira credentials"]
    assert found["Jira reachable"].startswith("✓")
    assert "not checked" in found["Jira project"]
    assert wrong not in result.stdout + result.stderr
    # The sandbox saw the attempt and refused it: the check really asked Jira.
    assert [r.status for r in own_sandbox.requests("jira")] == [401]


def test_an_unknown_project_with_good_credentials(own_sandbox: Sandbox, tmp_path: Path) -> None:
    env = base_env(irbot_settings(own_sandbox, 10), PREFECT_API_URL=None, JIRA_PROJECT="NOPE")
    result = run_irbot(["check"], env, tmp_path)
    assert result.returncode == 1
    assert failed(result.stdout) == ["Jira project"], result.stdout
    found = lines(result.stdout)
    assert "JIRA_PROJECT NOPE does not exist" in found["Jira project"]
    assert "→ set JIRA_PROJECT" in found["Jira project"]
    assert found["Jira credentials"].startswith("✓")


def in_process(env: pytest.MonkeyPatch, settings: dict[str, str], socket_mode: bool = False,
               **changes: str | None) -> tuple[int, str]:
    """`irbot check` in this process (fast), with exactly these settings."""
    for name in IRBOT_VARS:
        env.delenv(name, raising=False)
    for name, value in {**settings, **changes}.items():
        if value is not None:
            env.setenv(name, value)
    out = io.StringIO()
    environ = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    code = check_command(environ, socket_mode, out)
    return code, out.getvalue()


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no .env in reach
    return monkeypatch


@pytest.mark.parametrize("own_sandbox", [
    {"jira_permissions": tuple(p for p in PERMISSIONS if p != "CREATE_ATTACHMENTS")}],
    indirect=True)
def test_a_missing_jira_permission(own_sandbox: Sandbox, clean: pytest.MonkeyPatch) -> None:
    code, out = in_process(clean, irbot_settings(own_sandbox, 10))
    assert code == 1 and failed(out) == ["Jira permissions"], out
    assert "may not: Create attachments in SEC" in lines(out)["Jira permissions"]


def test_an_unknown_issue_type(own_sandbox: Sandbox, clean: pytest.MonkeyPatch) -> None:
    code, out = in_process(clean, irbot_settings(own_sandbox, 10), JIRA_ISSUE_TYPE="Incidnt")
    assert code == 1 and failed(out) == ["Jira issue type"], out
    assert "(it has Task, Bug" in lines(out)["Jira issue type"]


def test_socket_mode_app_token(own_sandbox: Sandbox, clean: pytest.MonkeyPatch) -> None:
    settings = irbot_settings(own_sandbox, 10)
    code, out = in_process(clean, settings, socket_mode=True)
    assert code == 1 and failed(out) == ["Slack app token"], out
    assert "SLACK_APP_TOKEN is not set" in lines(out)["Slack app token"]
    code, out = in_process(clean, settings, SLACK_APP_TOKEN="xapp-1-not-the-right-one")
    assert code == 1 and "refused SLACK_APP_TOKEN (invalid_auth)" in out, out
    code, out = in_process(clean, settings, SLACK_APP_TOKEN=own_sandbox.app_token)
    assert code == 0, out
    assert "valid for Socket Mode" in lines(out)["Slack app token"]
    assert own_sandbox.app_token not in out


def test_a_bot_token_slack_refuses(own_sandbox: Sandbox, clean: pytest.MonkeyPatch) -> None:
    code, out = in_process(clean, irbot_settings(own_sandbox, 10),
                           SLACK_BOT_TOKEN="xoxb-revoked-0000")
    assert code == 1 and failed(out) == ["Slack bot token"], out
    assert "not checked" in lines(out)["Slack scopes"]


def test_falcon_half_configured(own_sandbox: Sandbox, clean: pytest.MonkeyPatch) -> None:
    code, out = in_process(clean, irbot_settings(own_sandbox, 10), FALCON_CLIENT_ID="abc123",
                           FALCON_CLIENT_SECRET="")
    assert code == 1 and failed(out) == ["Falcon API client"], out
    assert "FALCON_CLIENT_SECRET is not set" in out
    code, out = in_process(clean, irbot_settings(own_sandbox, 10),
                           FALCON_CLIENT_SECRET="not-the-secret")
    assert code == 1 and failed(out) == ["Falcon API client"], out
    assert "Falcon refused FALCON_CLIENT_ID / FALCON_CLIENT_SECRET (HTTP 401)" in out
    assert "not-the-secret" not in out


def test_missing_settings_are_named(clean: pytest.MonkeyPatch) -> None:
    code, out = in_process(clean, {})
    assert code == 1
    assert out.startswith("✗ Settings: ") and "SLACK_BOT_TOKEN is required" in out
    assert "JIRA_PROJECT is required" in out


def test_unreachable_services_are_warnings_at_start_not_refusals(
        own_sandbox: Sandbox, clean: pytest.MonkeyPatch) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    for name, value in {**irbot_settings(own_sandbox, 10), "JIRA_URL": closed + "/jira"}.items():
        clean.setenv(name, value)
    checks = {c.name: c for c in startup_checks(load_settings(), socket_mode=False)}
    assert checks["Jira reachable"].status is Status.UNREACHABLE
    assert not any(c.hard for c in checks.values())
    assert checks["Slack bot token"].passed


def test_serve_refuses_to_start_on_refused_credentials(own_sandbox: Sandbox,
                                                       tmp_path: Path) -> None:
    env = base_env(irbot_settings(own_sandbox, 10), JIRA_API_TOKEN="wrong-jira-token-123")
    started = time.monotonic()
    result = run_irbot(["serve", "--port", str(free_port())], env, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "irbot: not starting: Jira credentials" in result.stderr
    assert "wrong-jira-token-123" not in result.stdout + result.stderr
    # Refused before anything was started: no Prefect server, no runner, no webhook.
    assert time.monotonic() - started < 20
    assert not own_sandbox.requests("slack", "apps.connections.open")


def test_serve_in_socket_mode_needs_the_app_token(own_sandbox: Sandbox, tmp_path: Path) -> None:
    env = base_env(irbot_settings(own_sandbox, 10))
    result = run_irbot(["serve", "--socket-mode", "--port", str(free_port())], env, tmp_path)
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN is not set" in result.stderr
    assert "not starting: Slack app token" in result.stderr
