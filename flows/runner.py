"""All of irbot's deployments served from one process (what `irbot serve` runs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import serve

from flows.archive import archive_incident, cancellation_trigger
from flows.autobackup import autobackup_incidents
from flows.backup import backup_incident
from flows.commander import commander_incident
from flows.contain import contain_host, lift_containment
from flows.create import create_incident
from flows.handover import handover_incident
from flows.page import page_team
from flows.remind import remind_incident
from flows.severity import severity_incident
from flows.update import update_incident
from tasks.deployments import (
    ARCHIVE,
    AUTOBACKUP,
    BACKUP,
    COMMANDER,
    CONTAIN,
    CREATE,
    HANDOVER,
    LIFT,
    PAGE,
    REMIND,
    SEVERITY,
    UPDATE,
    name_of,
)
from tasks.runs import ensure_heal_automation, ensure_zombie_automation
from tasks.settings import Settings, get_settings
from tasks.state import register_block_type


def deployments(auto_backup_minutes: int | None = None) -> list[Any]:
    """The deployments, named as in prefect.yaml and DESIGN.md (page last: `irbot serve`
    waits for it). The automatic backup runs every `auto_backup_minutes` (0 = no schedule;
    None = the default of IRBOT_AUTO_BACKUP_MINUTES, which prefect.yaml carries too)."""
    if auto_backup_minutes is None:
        auto_backup_minutes = int(Settings.model_fields["IRBOT_AUTO_BACKUP_MINUTES"].default)
    every = timedelta(minutes=auto_backup_minutes) if auto_backup_minutes else None
    return [
        create_incident.to_deployment(name=name_of(CREATE)),
        backup_incident.to_deployment(name=name_of(BACKUP)),
        autobackup_incidents.to_deployment(name=name_of(AUTOBACKUP), interval=every),
        archive_incident.to_deployment(name=name_of(ARCHIVE), triggers=[cancellation_trigger()]),
        commander_incident.to_deployment(name=name_of(COMMANDER)),
        severity_incident.to_deployment(name=name_of(SEVERITY)),
        update_incident.to_deployment(name=name_of(UPDATE)),
        handover_incident.to_deployment(name=name_of(HANDOVER)),
        contain_host.to_deployment(name=name_of(CONTAIN)),
        lift_containment.to_deployment(name=name_of(LIFT)),
        remind_incident.to_deployment(name=name_of(REMIND)),
        page_team.to_deployment(name=name_of(PAGE)),
    ]


def main() -> None:
    """Register the state block type and the automations, then serve until stopped."""
    register_block_type()
    ensure_heal_automation()
    ensure_zombie_automation()
    # Not paused on shutdown: runs requested while we restart wait for us instead.
    # A pending archive is suspended: it holds no process and no slot of IRBOT_RUN_LIMIT.
    settings = get_settings()
    serve(*deployments(settings.IRBOT_AUTO_BACKUP_MINUTES), limit=settings.IRBOT_RUN_LIMIT,
          pause_on_shutdown=False,
          print_starting_message=False)


if __name__ == "__main__":
    main()
