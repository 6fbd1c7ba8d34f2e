"""All four deployments served from one process (what `irbot serve` runs)."""

from __future__ import annotations

from typing import Any

from prefect import serve

from flows.archive import archive_incident, cancellation_trigger
from flows.backup import backup_incident
from flows.create import create_incident
from flows.page import page_team
from tasks.runs import ensure_heal_automation, ensure_zombie_automation
from tasks.settings import get_settings
from tasks.state import register_block_type


def deployments() -> list[Any]:
    """The deployments, named as in prefect.yaml and DESIGN.md."""
    return [
        create_incident.to_deployment(name="create"),
        backup_incident.to_deployment(name="backup"),
        archive_incident.to_deployment(name="archive", triggers=[cancellation_trigger()]),
        page_team.to_deployment(name="page"),
    ]


def main() -> None:
    """Register the state block type and the automations, then serve until stopped."""
    register_block_type()
    ensure_heal_automation()
    ensure_zombie_automation()
    # Not paused on shutdown: runs requested while we restart wait for us instead.
    # A pending archive is suspended: it holds no process and no slot of IRBOT_RUN_LIMIT.
    serve(*deployments(), limit=get_settings().IRBOT_RUN_LIMIT, pause_on_shutdown=False,
          print_starting_message=False)


if __name__ == "__main__":
    main()
