"""``JobServiceContext``: one execution slot's state (docs/android-semantics.md#the-execution-slot-and-its-timeouts).

The verbs run BINDING → STARTING → EXECUTING → STOPPING → FINISHED. Each verb has one timer
(:meth:`JobServiceContext.deadline`); the service reacts when it expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from uidt.job.notification import EndPolicy
from uidt.job.reasons import Incomplete, InternalStopReason, StopReason
from uidt.server.status import JobStatus
from uidt.settings import Settings


class Verb(IntEnum):
    """Android's ``JobServiceContext`` verbs."""

    BINDING = 0
    STARTING = 1
    EXECUTING = 2
    STOPPING = 3
    FINISHED = 4


@dataclass(eq=False)
class JobServiceContext:
    """One run of one job."""

    run_id: int
    status: JobStatus
    verb: Verb
    verb_since: int
    user_visible: bool
    min_guarantee_ms: int
    max_runtime_ms: int
    execution_start: int | None = None
    awaiting_notification: bool = False
    notification_id: int | None = None
    end_policy: EndPolicy = EndPolicy.DETACH
    stop_reason: StopReason = StopReason.UNDEFINED
    internal_reason: InternalStopReason = InternalStopReason.UNKNOWN
    #: A stop asked for while BINDING/STARTING, delivered once the job runs.
    deferred_stop: tuple[StopReason, InternalStopReason] | None = None
    #: Reasons to use when the process dies (Task Manager stop, low-memory kill).
    death_mark: tuple[StopReason, InternalStopReason] | None = None
    cancelled: bool = False
    #: The app reported the run failed (``JobService.job_failed``), with this one-line reason.
    failure: str | None = None
    #: The app ended the job without its work done (``JobService.job_ended_incomplete``).
    incomplete: tuple[Incomplete, str] | None = None
    force_reschedule: bool = False
    counts_as_timeout: bool = True
    estimated_download_bytes: int = -1
    estimated_upload_bytes: int = -1
    transferred_download_bytes: int = 0
    transferred_upload_bytes: int = 0
    bytes_reported: bool = False
    last_progress: int = 0
    #: Execution time of this run already added to the job's cumulative runtime (stamped).
    stamped_ms: int = 0

    @property
    def app(self) -> str:
        return self.status.key.app

    def within_guarantee(self, now: int) -> bool:
        """Still inside the minimum execution guarantee (or not executing yet)."""
        return self.execution_start is None or now < self.execution_start + self.min_guarantee_ms

    def effective_max_ms(self) -> int:
        """JSC's ``max(maxRuntime, minGuarantee)``."""
        return max(self.max_runtime_ms, self.min_guarantee_ms)

    def deadline(self, settings: Settings) -> int | None:
        """Elapsed ms at which this context's current timer fires."""
        if self.verb is Verb.BINDING:
            return self.verb_since + settings.bind_timeout_ms
        if self.verb in (Verb.STARTING, Verb.STOPPING):
            return self.verb_since + settings.op_timeout_ms
        if self.verb is not Verb.EXECUTING or self.execution_start is None:
            return None
        start = self.execution_start
        guarantee_end = start + self.min_guarantee_ms
        candidates = [start + self.effective_max_ms()]
        if self.verb_since < guarantee_end:
            candidates.append(guarantee_end)
        if self.awaiting_notification:
            candidates.append(start + settings.notification_timeout_ms)
        if self.bytes_reported and settings.stall_watchdog:
            candidates.append(self.last_progress + settings.stall_timeout_ms)
        candidates.append(start + self.stamped_ms + settings.execution_stamp_period_ms)
        return min(candidates)
