"""irbot's deployments, `<flow name>/<deployment name>` as DESIGN.md names them: the one place.

Flows take their names from here, `irbot serve` registers these deployments, the webhook starts
their runs, and a test checks prefect.yaml against them.
"""

from __future__ import annotations

CREATE = "create-incident/create"
BACKUP = "backup-incident/backup"
AUTOBACKUP = "autobackup-incident/autobackup"
ARCHIVE = "archive-incident/archive"
PAGE = "page-team/page"
# Running the incident (issue 12): one flow per change, each visible and retried in Prefect.
COMMANDER = "commander-incident/commander"
SEVERITY = "severity-incident/severity"
UPDATE = "update-incident/update"
HANDOVER = "handover-incident/handover"
REMIND = "remind-incident/remind"
CONTAIN = "contain-incident/contain"
LIFT = "lift-incident/lift"
ALL = (CREATE, BACKUP, AUTOBACKUP, ARCHIVE, PAGE, COMMANDER, SEVERITY, UPDATE, HANDOVER,
       REMIND, CONTAIN, LIFT)


def flow_of(deployment: str) -> str:
    """The flow's name: `backup-incident` of `backup-incident/backup`."""
    return deployment.partition("/")[0]


def name_of(deployment: str) -> str:
    """The deployment's own name: `backup` of `backup-incident/backup`."""
    return deployment.partition("/")[2]
