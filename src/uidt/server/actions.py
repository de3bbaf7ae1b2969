"""Actions the core asks the shell to carry out. Frozen dataclasses; the shell pattern-matches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from uidt.job.key import JobKey
from uidt.job.params import JobParameters
from uidt.job.reasons import InternalStopReason, StopReason
from uidt.job.work import JobWorkItem
from uidt.store.record import JobRecord, NotificationRecord


@dataclass(frozen=True)
class BindApp:
    """Start (or make sure of) the app's worker process; answer ``on_bound`` / ``on_bind_failed``."""

    app: str


@dataclass(frozen=True)
class StartJob:
    """Call ``on_start_job`` in the worker; answer ``on_start_job_result``."""

    run_id: int
    key: JobKey
    service: str
    params: JobParameters
    work: tuple[JobWorkItem, ...] = ()


@dataclass(frozen=True)
class StopJob:
    """Call ``on_stop_job`` in the worker; answer ``on_stop_job_result``."""

    run_id: int
    key: JobKey
    stop_reason: StopReason
    internal_reason: InternalStopReason


@dataclass(frozen=True)
class NetworkChanged:
    """The running job's network changed and still satisfies it: call ``on_network_changed``."""

    run_id: int
    key: JobKey
    network: dict[str, Any] | None


@dataclass(frozen=True)
class KillApp:
    """SIGKILL the app's worker; answer ``on_process_died``."""

    app: str
    reason: str


@dataclass(frozen=True)
class UnbindApp:
    """The app has no running job any more; the shell may let its worker idle out."""

    app: str


@dataclass(frozen=True)
class PersistJob:
    """Write the job through to the store (``record.persisted`` says whether it must survive)."""

    record: JobRecord


@dataclass(frozen=True)
class RemoveJob:
    """Remove the job from the store."""

    key: JobKey


@dataclass(frozen=True)
class PostNotification:
    """Show (or update) a notification."""

    record: NotificationRecord


@dataclass(frozen=True)
class RemoveNotification:
    """Take a notification down."""

    app: str
    notification_id: int


@dataclass(frozen=True)
class RecordAnr:
    """An app did not respond in time (kept and shown by ``uidt dumpsys``)."""

    app: str
    job: JobKey
    reason: str
    utc_ms: int


@dataclass(frozen=True)
class JobStateChanged:
    """A job changed state (for live UI updates)."""

    key: JobKey
    state: str
    reason: str


@dataclass(frozen=True)
class CommandCompleted:
    """A deferred shell command (``cmd run`` waiting for the network) has its result."""

    token: int
    code: int
    output: str
    error: str = ""


Action = (
    BindApp
    | StartJob
    | StopJob
    | NetworkChanged
    | KillApp
    | UnbindApp
    | PersistJob
    | RemoveJob
    | PostNotification
    | RemoveNotification
    | RecordAnr
    | JobStateChanged
    | CommandCompleted
)
