"""Records the job store keeps: jobs, apps, notifications. Shared by the scheduler core and every store.

Times are wall-clock milliseconds since the Unix epoch (``*_utc_ms``), because elapsed time does
not survive a restart. Backoff counters are not persisted (Android resets them on load), but they
are part of the record so that a running daemon's store mirrors its memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from uidt.job.info import JobInfo
from uidt.job.key import JobKey


@dataclass(slots=True)
class JobRecord:
    """Everything the store keeps about one scheduled job."""

    key: JobKey
    job: JobInfo
    enqueue_time_utc_ms: int = 0
    num_failures: int = 0
    num_system_stops: int = 0
    cumulative_runtime_ms: int = 0
    internal_flags: int = 0
    earliest_run_time_utc_ms: int | None = None
    last_stop_reason: int = 0
    last_internal_stop_reason: int = -1
    last_successful_run_utc_ms: int | None = None
    last_failed_run_utc_ms: int | None = None
    #: Last ≤ ``HISTORY_SIZE`` (32) state changes: ``{"time": utc_ms, "state": str, "reason": str}``.
    history: list[dict[str, Any]] = field(default_factory=list)
    #: Pending ``JobWorkItem.to_dict()`` values.
    work_items: list[dict[str, Any]] = field(default_factory=list)
    #: Free-form state a component wants to keep with the job (e.g. last transfer figures, message).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def persisted(self) -> bool:
        return self.job.is_persisted()


@dataclass(slots=True)
class AppRecord:
    """An installed app: its validated manifest (as a dict), the user's grants and revocations,
    and the notification channels it created."""

    package: str
    manifest: dict[str, Any]
    granted: frozenset[str] = frozenset()
    revoked: frozenset[str] = frozenset()
    installed_utc_ms: int = 0
    #: Notification channels the app created at run time (``NotificationManager``), id → name;
    #: the manifest's own channels are in ``manifest``.
    channels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class NotificationRecord:
    """A notification the system is showing for an app (posted by a job, possibly detached)."""

    app: str
    notification_id: int
    notification: dict[str, Any]
    job: JobKey | None
    user_initiated_job: bool
    updated_utc_ms: int = 0
