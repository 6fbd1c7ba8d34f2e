"""All four deployments served from one process (what `irbot serve` runs)."""

from __future__ import annotations

import os
from typing import Any

from prefect import serve

from flows.archive import archive_incident
from flows.backup import backup_incident
from flows.create import create_incident
from flows.page import page_team
from tasks.state import register_block_type

# Paused archives hold a slot for their whole wait, so leave room for them.
RUN_LIMIT = int(os.environ.get("IRBOT_RUN_LIMIT", "20"))


def deployments() -> list[Any]:
    """The deployments, named as in prefect.yaml and DESIGN.md."""
    return [
        create_incident.to_deployment(name="create"),
        backup_incident.to_deployment(name="backup"),
        archive_incident.to_deployment(name="archive"),
        page_team.to_deployment(name="page"),
    ]


def main() -> None:
    """Register the state block type, then serve until stopped."""
    register_block_type()
    # Not paused on shutdown: runs requested while we restart wait for us instead.
    serve(*deployments(), limit=RUN_LIMIT, pause_on_shutdown=False, print_starting_message=False)


if __name__ == "__main__":
    main()
