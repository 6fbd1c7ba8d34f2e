"""Incident state: one Prefect Block document per incident, guarded by a per-incident lock."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import Any, cast

from prefect.blocks.core import Block
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from tasks.errors import NotAnIncident
from tasks.retry import is_transient

# A backup of a very large channel can hold the lock for minutes; waiting longer means trouble.
LOCK_TIMEOUT_SECONDS = 900
# Prefect renews a live holder's lease; a dead holder's slot frees once the lease runs out and
# the server's repossessor (every ~15 s) sees it: 60-75 s after a crash. 60 s is Prefect's floor.
LOCK_LEASE_SECONDS = 60
# The first wait before asking a server that failed to grant the lock again; doubles, up to 30 s.
LOCK_RETRY_SECONDS = 1.0
BLOCK_TYPE_SLUG = "irbot-incident"
_SCHEMAS: dict[Any, str] = {}  # IncidentState.model_json_schema, built once (JSON text)


class IncidentState(Block):
    """What irbot remembers about one incident (see DESIGN.md, "State")."""

    _block_type_name = "irbot incident"
    _block_type_slug = BLOCK_TYPE_SLUG
    _description = "State of one irbot incident: case, channels, backup cursor, pending archive."

    case_key: str
    case_url: str
    title: str = ""
    severity: str = ""
    channel_id: str
    channel_name: str
    exec_channel_id: str | None = None
    exec_channel_name: str | None = None
    created_by: str
    created_at: datetime
    # The incident commander's Slack user id; "" = the creator (incidents opened before roles).
    commander: str = ""
    # The latest status update (`/irbot update`, a handover): reminders measure quiet from it.
    update_status: str = ""  # investigating / identified / monitoring / resolved; "" = none yet
    last_update_at: datetime | None = None
    backup_cursor: str = ""  # Slack ts of the newest message already in Jira; "" = none yet
    transcript_attachment_id: str | None = None
    message_count: int = 0
    # What the last backup stored of the channel's top-level messages, hashed: a backup that
    # finds the same (and no thread with new replies) has nothing to do. "" = not known yet.
    transcript_fingerprint: str = ""
    # The stored transcript was written with secrets masked: a backup need not scan it again.
    transcript_masked: bool = False
    last_backup_at: datetime | None = None
    # The run that stored the last backup and its "saved" notice (counts only): a re-run of
    # that run after a crash before its notice posts the notice, not "nothing new".
    last_backup_run_id: str = ""
    last_backup_notice: str = ""
    archive_flow_run_id: str | None = None
    archive_deadline: datetime | None = None
    archive_message_ts: str | None = None  # the announcement, to update once decided
    archive_timer_run_id: str | None = None  # the run that resumes the wait at the deadline
    archive_decided_by: str | None = None  # who decided to archive (kept for a re-run)
    closing: bool = False  # final backup done, channels being archived: refuse new work
    # Private (security-sensitive): both channels private, the title kept out of public places.
    private: bool = False
    # Update reminders (tasks/reminders.py): the scheduled run of the next check and when it is
    # due, the last reminder posted (its time and message), and a snooze (which reminder, until).
    reminder_run_id: str | None = None
    reminder_due_at: datetime | None = None
    last_reminder_at: datetime | None = None
    last_reminder_ts: str | None = None
    snoozed_reminder_ts: str | None = None
    snoozed_until: datetime | None = None

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The schema, built once: Prefect's Block.save asks for it once per field (about 130
        times, ~0.9 s of CPU per save); callers get their own copy to change (parsed from its
        JSON text: a tenth of deepcopy's cost for the same dict)."""
        key = (args, tuple(sorted(kwargs.items())))
        if key not in _SCHEMAS:
            _SCHEMAS[key] = json.dumps(super().model_json_schema(*args, **kwargs))
        schema: dict[str, Any] = json.loads(_SCHEMAS[key])
        return schema


def commander_of(state: IncidentState) -> str:
    """Who commands the incident: the one named, else whoever opened it."""
    return state.commander or state.created_by


# Prefect run states after which a run does nothing more (a pending-archive marker pointing at
# such a run is stale). CANCELLING counts: the run is being stopped and will not archive.
FINAL_RUN_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED", "CANCELLING"})


def run_is_final(state_type: str | None) -> bool:
    """True once a run (or a run that no longer exists: None) will do nothing more."""
    return state_type is None or state_type in FINAL_RUN_STATES


def archive_pending(state: IncidentState, archive_run_state: str | None) -> bool:
    """True while an archive is marked and its run is live (`archive_run_state` is that run's
    state type): a crashed or finished run leaves a stale marker behind."""
    return bool(state.archive_flow_run_id) and not run_is_final(archive_run_state)


def still_closing(state: IncidentState, archive_run_state: str | None) -> bool:
    """True while an archive is closing the incident. An archive run that ended without
    finishing (a crash loop, say) leaves `closing` behind: then the incident is open again, so
    that `/irbot archive` can finish the job."""
    return state.closing and (not state.archive_flow_run_id or
                              archive_pending(state, archive_run_state))


def document_name(channel_id: str) -> str:
    """Block document name for a channel (block names are lowercase)."""
    return f"incident-{channel_id.lower()}"


def lock_name(channel_id: str) -> str:
    """Name of the per-incident global concurrency limit (the state's lock)."""
    return f"irbot-incident-{channel_id.lower()}"


def backup_lock_name(channel_id: str) -> str:
    """Name of the per-incident limit that serialises backups (held for a whole Slack fetch,
    so that state changes need not wait behind one)."""
    return f"irbot-backup-{channel_id.lower()}"


def register_block_type() -> None:
    """Make the block type known to the API, so loads work before the first incident exists."""
    IncidentState.register_type_and_schema()


def is_missing_document(exc: BaseException) -> bool:
    """True when a Block load failed only because the document does not exist.

    Prefect raises ValueError from ObjectNotFound for that; a ValueError of any other origin
    (a schema that no longer validates, say) is a real fault and must not read as "no incident".
    """
    return isinstance(exc, ValueError) and isinstance(exc.__cause__, ObjectNotFound)


def find_incident(channel_id: str) -> IncidentState | None:
    """The channel's incident state, or None when it has none (any other fault raises)."""
    try:
        return cast(IncidentState, IncidentState.load(document_name(channel_id)))
    except ValueError as exc:
        if not is_missing_document(exc):
            raise
        return None


async def afind_incident(channel_id: str, client: PrefectClient) -> IncidentState | None:
    """find_incident for an event loop (the webhook), over the caller's client."""
    try:
        block = await IncidentState.aload(document_name(channel_id), client=client)
    except ValueError as exc:
        if not is_missing_document(exc):
            raise
        return None
    return cast(IncidentState, block)


def load_incident(channel_id: str) -> IncidentState:
    """The channel's incident state; NotAnIncident only when there is no state document."""
    state = find_incident(channel_id)
    if state is None:
        raise NotAnIncident(
            "This channel is not an open incident (it never was one, or it has been archived).")
    return state


def save_incident(state: IncidentState) -> None:
    """Write the state; callers hold the incident lock (Blocks are last-writer-wins)."""
    state.save(document_name(state.channel_id), overwrite=True)


def delete_incident(channel_id: str) -> None:
    """Remove the state and its lock; the incident is over."""
    with get_client(sync_client=True) as client:
        try:
            doc = client.read_block_document_by_name(document_name(channel_id), BLOCK_TYPE_SLUG)
            if doc.id is not None:
                client.delete_block_document(doc.id)
        except ObjectNotFound:
            pass
        for name in (lock_name(channel_id), backup_lock_name(channel_id)):
            try:
                client.delete_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                pass


def _create_limits(*names: str) -> None:
    """Limits of 1, over one client; one that exists already is fine."""
    with get_client(sync_client=True) as client:
        for name in names:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name,
                                                                                    limit=1))
            except ObjectAlreadyExists:
                pass


def create_lock(channel_id: str) -> None:
    """Create the incident's locks (limit 1 each); existing is fine (a retried create)."""
    _create_limits(lock_name(channel_id), backup_lock_name(channel_id))


@contextmanager
def backup_lock(channel_id: str) -> Iterator[None]:
    """Hold the incident's backup lock: one backup at a time, while state changes go on.

    An incident opened before backups had their own lock gets it here, once, if it is still
    open (checked under the state lock); a closed incident raises NotAnIncident.
    """
    with ExitStack() as held:
        try:
            held.enter_context(_hold(backup_lock_name(channel_id)))
        except NotAnIncident:
            with incident_lock(channel_id):
                if find_incident(channel_id) is None:
                    raise
                _create_limits(backup_lock_name(channel_id))
            held.enter_context(_hold(backup_lock_name(channel_id)))
        yield


@contextmanager
def incident_lock(channel_id: str) -> Iterator[None]:
    """Hold the incident's state lock around a read-modify-write of its state."""
    with _hold(lock_name(channel_id)):
        yield


@contextmanager
def _hold(name: str) -> Iterator[None]:
    """Hold a per-incident limit; strict, so a missing lock is an error rather than no lock.

    A server that cannot take the slot right now (a 5xx, e.g. SQLite "database is locked"
    through a burst, after the Prefect client's own retries) is asked again until the lock's
    timeout: the run waits for its lock instead of failing, which nothing would re-run.
    """
    deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
    for attempt in itertools.count():
        with ExitStack() as held:
            try:
                held.enter_context(concurrency(
                    name, occupy=1, strict=True,
                    timeout_seconds=max(deadline - time.monotonic(), 1.0),
                    lease_duration=LOCK_LEASE_SECONDS))
            except ConcurrencySlotAcquisitionError as exc:
                # strict=True raises this when the limit does not exist: the incident is gone.
                if "must be created" in str(exc):
                    raise NotAnIncident(
                        "This incident is closed: its channel has been archived.") from exc
                if exc.__cause__ is None or not is_transient(exc.__cause__) \
                        or time.monotonic() >= deadline:
                    raise
                time.sleep(min(LOCK_RETRY_SECONDS * 2 ** attempt, 30.0))
                continue
            yield
            return


def open_incident_channels() -> list[str]:
    """The channel id of every open incident (every state document)."""
    page, offset, found = 200, 0, []
    with get_client(sync_client=True) as client:
        while True:
            docs = client.read_block_documents_by_type(BLOCK_TYPE_SLUG, offset=offset,
                                                       limit=page, include_secrets=False)
            found += [str(doc.data["channel_id"]) for doc in docs if doc.data.get("channel_id")]
            if len(docs) < page:
                return found
            offset += page


def find_incident_by_channel_name(name: str) -> IncidentState | None:
    """The open incident whose main or exec channel has this name (to reuse on `name_taken`)."""
    page = 200
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            docs = client.read_block_documents_by_type(BLOCK_TYPE_SLUG, offset=offset,
                                                       limit=page, include_secrets=False)
            for doc in docs:
                if name in (doc.data.get("channel_name"), doc.data.get("exec_channel_name")):
                    return load_incident(str(doc.data["channel_id"]))
            if len(docs) < page:
                return None
            offset += page


def change_incident(channel_id: str, change: Callable[[IncidentState], None]) -> IncidentState:
    """Read, change and save the state under the state lock (never behind a backup's fetch);
    returns the state as saved."""
    with incident_lock(channel_id):
        state = load_incident(channel_id)
        change(state)
        save_incident(state)
    return state
