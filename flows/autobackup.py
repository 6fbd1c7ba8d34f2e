"""autobackup-incident: on a schedule, back up every open incident that has new activity.

A quiet incident costs one read of its channel's history and nothing else: no Jira call, no
notice in Slack (backup-incident decides "quiet" from Slack and the stored fingerprint). An
archived incident has no state any more, so the schedule stops visiting it by itself.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.backup import backup_incident
from tasks import deployments
from tasks.errors import NotAnIncident
from tasks.state import find_incident, open_incident_channels


@flow(name=deployments.flow_of(deployments.AUTOBACKUP))
def autobackup_incidents(channel_ids: list[str] | None = None) -> dict[str, Any]:
    """Back up each open incident (or just these channels) that changed since its last backup.

    Each backup is a subflow run of backup-incident, visible in the Prefect UI; one incident
    failing does not stop the others, but fails this run at the end.
    """
    log = get_run_logger()
    outcome: dict[str, str] = {}
    for channel_id in channel_ids if channel_ids is not None else open_incident_channels():
        state = find_incident(channel_id)
        if state is None or state.closing:
            outcome[channel_id] = "closed"
            continue
        try:
            result = backup_incident(channel_id, automatic=True)
        except NotAnIncident:
            outcome[channel_id] = "closed"  # archived meanwhile
        except Exception as exc:
            log.warning("Automatic backup of %s failed: %s", channel_id, type(exc).__name__)
            outcome[channel_id] = "failed"
        else:
            outcome[channel_id] = "saved" if result["changed"] else "quiet"
    failed = sorted(c for c, what in outcome.items() if what == "failed")
    if failed:
        raise RuntimeError(f"automatic backup failed for {', '.join(failed)}")
    return {"incidents": outcome}
