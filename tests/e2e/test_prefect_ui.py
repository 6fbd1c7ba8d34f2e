"""The Prefect UI as an operator uses it, in a real Chromium: resume a paused archive with
"cancel" from its form, and retry a failed backup. Screenshots go to each test's tmp_path.

It drives Prefect 3.9's default UI, V2 (React; `/v2/...`, what the UI's root opens for a new
browser), not the classic V1 still served at `/runs/...`. Prefect is pinned to 3.9.x in
pyproject.toml so these selectors hold. Chromium is the machine's (`apt-get install chromium`;
.ci/run installs it): Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.states import Cancelled

from sandbox.driver import SlackDriver, wait_for
from tasks.deployments import ARCHIVE, BACKUP
from tests.e2e.conftest import open_incident
from tests.e2e.support_runs import (
    buttons,
    flow_runs,
    has_buttons,
    run_state,
    unique_title,
    wait_final,
    wait_state,
    wait_text,
)
from tests.support import read_transcript

CHROMIUM = "/usr/bin/chromium"
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium; "
                ".ci/run installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                                                             "(pip install -e '.[dev]')")

# Flags for a headless browser in a container: no sandbox (we run as root), nothing fetched
# from the network behind the test's back.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
UI_TIMEOUT_MS = 30_000  # a busy 2-core machine renders the UI in seconds, not milliseconds


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A fresh Chromium profile per module (nothing remembered from a developer's browsing)."""
    profile = tempfile.mkdtemp(prefix="irbot-chromium-")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900})
        context.set_default_timeout(UI_TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    page = browser.new_page()
    yield page
    page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
    page.close()
    print(f"\nscreenshots: {tmp_path}")


@pytest.fixture(scope="module")
def ui(prefect_api: str) -> str:
    """The UI's address: the Prefect server the whole session uses."""
    return prefect_api.removesuffix("/api")


def run_page(page: Any, ui: str, run_id: str, state: str) -> None:
    """Open the run as an operator would from a link, once the UI shows `state` (a regex)."""
    page.goto(f"{ui}/v2/runs/flow-run/{run_id}")
    page.get_by_text(re.compile(f"^({state})$")).first.wait_for()


def run_menu(page: Any) -> Any:
    """The run's ⋮ menu at the top right of its page."""
    page.get_by_role("button", name="Open menu").first.click()
    return page.get_by_role("menu")


def cancel_deadline_timer(run_id: str) -> None:
    """The tests' archive deadline is seconds away; take the timer out so the UI is not raced."""
    with get_client(sync_client=True) as client:
        for timer in flow_runs(ARCHIVE, resume_run_id=run_id):
            if timer.state is not None and timer.state.type.value in ("SCHEDULED", "PENDING"):
                client.set_flow_run_state(timer.id, Cancelled(message="UI test"), force=True)


def test_operator_cancels_a_paused_archive_from_the_resume_form(
        page: Any, ui: str, driver: SlackDriver, sandbox: Any, people: dict[str, str],
        security: str, tmp_path: Path) -> None:
    inc = open_incident(driver, sandbox, people["alice"], security, {
        "people": [people["bob"]], "title": unique_title("UI resume"), "severity": "SEV-3",
        "new_case": True})
    channel = inc["channel_id"]
    reply = driver.command("archive", people["alice"], channel, inc["name"])
    assert reply.status == 200, reply
    announcement = wait_for(lambda: next((m for m in sandbox.messages(channel)
                                          if has_buttons(m)), None),
                            timeout=45, what="the archive announcement")
    run_id = str(UUID(str(buttons(announcement)[0]["value"])))
    wait_state(run_id, {"PAUSED"}, timeout=30)
    cancel_deadline_timer(run_id)

    # A waiting archive is Paused today; Suspended once it holds no process (same form).
    run_page(page, ui, run_id, "Paused|Suspended")
    page.screenshot(path=str(tmp_path / "1-paused-run.png"))
    run_menu(page).get_by_role("menuitem", name="Resume").click()
    # The form is built from the pause's input schema (ArchiveDecision): a select, a text.
    form = page.get_by_role("dialog", name="Resume Flow Run")
    form.get_by_role("button", name="Select Decision").click()
    page.get_by_role("listbox").get_by_role("option", name="cancel", exact=True).click()
    form.get_by_label("Decided By").fill("ops-oncall")
    page.screenshot(path=str(tmp_path / "2-resume-form.png"))
    form.get_by_role("button", name="Resume", exact=True).click()

    told = wait_text(sandbox, channel, "Archive cancelled by ops-oncall", timeout=60)
    assert "stays open" in told["text"]
    assert wait_final(run_id) == "COMPLETED"
    assert not sandbox.channel(channel)["is_archived"]
    run_page(page, ui, run_id, "Completed")
    page.screenshot(path=str(tmp_path / "3-completed.png"))


def test_operator_retries_a_failed_backup(page: Any, ui: str, driver: SlackDriver, sandbox: Any,
                                          people: dict[str, str], security: str,
                                          tmp_path: Path) -> None:
    inc = open_incident(driver, sandbox, people["alice"], security, {
        "people": [people["bob"]], "title": unique_title("UI retry"), "severity": "SEV-3",
        "new_case": True})
    channel, key = inc["channel_id"], inc["key"]
    posted = [sandbox.post_message(channel, people["bob"], f"finding {n}") for n in range(3)]
    # Jira refuses the upload once (a 403 is not retried by the task): the run fails.
    sandbox.inject_fault("jira", f"POST /rest/api/2/issue/{key}/attachments", 403)
    driver.command("backup", people["alice"], channel, inc["name"])
    wait_text(sandbox, channel, "Backup failed", timeout=60)
    runs = flow_runs(BACKUP, channel_id=channel)
    assert len(runs) == 1
    run_id = str(runs[0].id)
    assert wait_final(run_id) == "FAILED"

    run_page(page, ui, run_id, "Failed")
    page.screenshot(path=str(tmp_path / "1-failed-run.png"))
    run_menu(page).get_by_role("menuitem", name="Retry").click()
    confirm = page.get_by_role("alertdialog").or_(page.get_by_role("dialog"))
    confirm.get_by_text("AwaitingRetry").wait_for()  # "Will become: AwaitingRetry"
    page.screenshot(path=str(tmp_path / "2-retry-confirm.png"))
    confirm.get_by_role("button", name="Retry", exact=True).click()

    wait_for(lambda: run_state(run_id) == "COMPLETED", timeout=90, interval=0.5,
             what="the retried run to complete")
    wait_text(sandbox, channel, "Backup saved", timeout=30)
    rows = read_transcript(sandbox, key)
    assert set(posted) <= set(rows["ts"])
    run_page(page, ui, run_id, "Completed")
    page.screenshot(path=str(tmp_path / "3-retried.png"))
