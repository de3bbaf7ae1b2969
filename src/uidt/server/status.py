"""``JobStatus``: one scheduled job as the core tracks it (Android's ``JobStatus``)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum, IntFlag
from typing import Any

from uidt.job.flags import INTERNAL_FLAG_DEMOTED_BY_SYSTEM_UIJ, INTERNAL_FLAG_DEMOTED_BY_USER
from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.job.network import NetCapability, Transport
from uidt.job.priority import Priority
from uidt.job.reasons import Incomplete, PendingReason
from uidt.job.work import JobWorkItem
from uidt.server.crashes import LastCrash
from uidt.server.jobstate import JobState
from uidt.server.progress import ByteSamples

#: State changes (and pending-reason changes) kept per job: enough for a timeline of a job stopped
#: a dozen times (``uidt timeline``), bounded so a persisted record stays small (~3 KiB).
HISTORY_SIZE = 32
DEMOTION_FLAGS = INTERNAL_FLAG_DEMOTED_BY_USER | INTERNAL_FLAG_DEMOTED_BY_SYSTEM_UIJ


def key_order(key: JobKey) -> tuple[str, str, int]:
    """A total order of job keys (the default namespace first)."""
    return (key.app, key.namespace or "", key.job_id)


class Constraint(IntFlag):
    """Constraint bits; a controller owns each bit (Android's ``CONSTRAINT_*`` values)."""

    NONE = 0
    CHARGING = 1
    BATTERY_NOT_LOW = 2
    STORAGE_NOT_LOW = 8
    #: Implicit: every job requires it (``BackgroundJobsController``); no ``cmd run`` lifts it.
    BACKGROUND_NOT_RESTRICTED = 1 << 22
    CONNECTIVITY = 1 << 28
    TIMING_DELAY = 1 << 31


class Bit:
    """The :class:`Constraint` bits as plain ints: ``IntFlag`` arithmetic is too slow for a check
    pass over thousands of jobs. ``Constraint(status.required)`` gives the readable flag view."""

    NONE = 0
    CHARGING = Constraint.CHARGING.value
    BATTERY_NOT_LOW = Constraint.BATTERY_NOT_LOW.value
    STORAGE_NOT_LOW = Constraint.STORAGE_NOT_LOW.value
    BACKGROUND_NOT_RESTRICTED = Constraint.BACKGROUND_NOT_RESTRICTED.value
    CONNECTIVITY = Constraint.CONNECTIVITY.value
    TIMING_DELAY = Constraint.TIMING_DELAY.value


#: Constraints ``cmd run`` without ``--force`` ignores (the SOFT override).
SOFT_OVERRIDABLE = Bit.CHARGING | Bit.BATTERY_NOT_LOW | Bit.STORAGE_NOT_LOW | Bit.TIMING_DELAY
#: Constraints the job did not ask for and no override ignores (Android's implicit constraints).
IMPLICIT = Bit.BACKGROUND_NOT_RESTRICTED


class Override(Enum):
    """A shell ``run`` override: which constraints are ignored for the next run."""

    NONE = "none"
    SORTING = "sorting"
    SOFT = "soft"
    FULL = "full"


@dataclass
class HistoryEntry:
    """One state change of a job."""

    elapsed: int
    utc_ms: int
    state: str
    reason: str


@dataclass(eq=False)
class JobStatus:
    """The mutable state of one scheduled job."""

    key: JobKey
    job: JobInfo
    enqueue_elapsed: int
    #: Required and satisfied :class:`Constraint` bits (plain ints, see :class:`Bit`).
    required: int = 0
    satisfied: int = 0
    num_failures: int = 0
    num_system_stops: int = 0
    cumulative_runtime_ms: int = 0
    internal_flags: int = 0
    earliest_run_elapsed: int | None = None
    last_stop_reason: int = 0
    last_internal_stop_reason: int = -1
    last_successful_run_utc_ms: int | None = None
    last_failed_run_utc_ms: int | None = None
    work: list[JobWorkItem] = field(default_factory=list)
    override: Override = Override.NONE
    #: Elapsed time the job last entered the ready queue (for the max-wait bypass).
    pending_since: int | None = None
    ready: bool = False
    restricted: bool = False
    pending_reasons: tuple[PendingReason, ...] = ()
    reasons_history: deque[tuple[int, tuple[PendingReason, ...]]] = field(
        default_factory=lambda: deque(maxlen=HISTORY_SIZE)
    )
    history: deque[HistoryEntry] = field(default_factory=lambda: deque(maxlen=HISTORY_SIZE))
    #: Bytes done over time as the app reported them (bounded; not persisted): the timeline's curve.
    byte_samples: ByteSamples = field(default_factory=ByteSamples)
    #: The user-visible state; only the core moves it (:meth:`SchedulerCore.settle`), checked
    #: against :data:`uidt.server.jobstate.TRANSITIONS`.
    state: JobState = JobState.WAITING
    #: Which scheduling of the job this is (:mod:`uidt.server.identity`); 0 until admitted.
    generation: int = 0
    #: The app's one-line reason when its last run failed (``JobService.job_failed``).
    failure: str | None = None
    #: How and why its app ended it without its work done (``job_ended_incomplete``).
    incomplete: tuple[Incomplete, str] | None = None
    #: The exception that last escaped the app's code in a run of this job (not persisted).
    last_crash: LastCrash | None = None
    #: The byte figures of the job's last run (estimated down/up, transferred down/up), kept
    #: for its ended record: a finished download still says how much it moved.
    last_run_bytes: tuple[int, int, int, int] | None = None
    #: What the notification of the job's last run showed when it ended (title, text, progress,
    #: actions), kept for its ended record: a paused transfer still says "paused".
    last_notification: dict[str, Any] | None = None
    #: What the job's network request wants, ``(capabilities, transports)``, or ``None`` without
    #: a network constraint; derived from ``job`` (a key cheaper to hash than the request).
    network_wants: tuple[frozenset[NetCapability], frozenset[Transport]] | None = field(
        init=False, default=None
    )
    #: The job itself has a positive byte figure (an estimate, a minimum chunk), so a slow
    #: network can fail it; its work items apart. Derived from ``job``.
    has_byte_figures: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        required = Bit.NONE
        if self.job.requires_charging:
            required |= Bit.CHARGING
        if self.job.requires_battery_not_low:
            required |= Bit.BATTERY_NOT_LOW
        if self.job.requires_storage_not_low:
            required |= Bit.STORAGE_NOT_LOW
        if self.job.required_network is not None:
            required |= Bit.CONNECTIVITY
        required |= Bit.TIMING_DELAY | Bit.BACKGROUND_NOT_RESTRICTED
        self.required = required
        job, request = self.job, self.job.required_network
        self.network_wants = None if request is None else (request.capabilities, request.transports)
        self.has_byte_figures = (
            job.minimum_network_chunk_bytes > 0
            or job.estimated_network_download_bytes > 0
            or job.estimated_network_upload_bytes > 0
        )

    @property
    def treated_as_uij(self) -> bool:
        """User-initiated and not demoted (docs/android-semantics.md)."""
        return self.job.user_initiated and not self.internal_flags & DEMOTION_FLAGS

    @property
    def effective_priority(self) -> int:
        """MAX for a treated UIJ; a demoted job is capped at HIGH (docs/android-semantics.md)."""
        if self.treated_as_uij:
            return int(self.job.priority)
        return min(int(self.job.priority), int(Priority.HIGH))

    def unsatisfied(self) -> int:
        """Required constraints not satisfied, after the shell override (which never lifts an
        :data:`IMPLICIT` one)."""
        missing = self.required & ~self.satisfied
        if self.override is Override.FULL:
            return missing & IMPLICIT
        if self.override is Override.SOFT:
            return missing & ~SOFT_OVERRIDABLE
        return missing

    def estimated_bytes(self) -> tuple[int, int]:
        """Estimated (download, upload) bytes of the job and its pending work, -1 when unknown."""
        down = self.job.estimated_network_download_bytes
        up = self.job.estimated_network_upload_bytes
        if not self.work:
            return down, up
        for item in self.work:
            if item.estimated_network_download_bytes > 0:
                down = max(down, 0) + item.estimated_network_download_bytes
            if item.estimated_network_upload_bytes > 0:
                up = max(up, 0) + item.estimated_network_upload_bytes
        return down, up

    def minimum_chunk_bytes(self) -> int:
        """The smallest known minimum chunk of the job and its work items, -1 when unknown."""
        if not self.work:
            chunk = self.job.minimum_network_chunk_bytes
            return chunk if chunk > 0 else -1
        chunks = [self.job.minimum_network_chunk_bytes]
        chunks += [w.minimum_network_chunk_bytes for w in self.work]
        known = [c for c in chunks if c > 0]
        return min(known) if known else -1
