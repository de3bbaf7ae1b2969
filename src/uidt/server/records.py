"""The store record of a job (what ``PersistJob`` carries), and the times read back from one.

Elapsed time restarts at boot, so the record keeps times as wall-clock milliseconds and a loading
core converts them back against its own clock, as Android's ``JobStore`` does with a job's
earliest run time (``convertRtcBoundsToElapsed``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.server.identity import GENERATION_KEY
from uidt.server.status import JobStatus
from uidt.store.record import JobRecord

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


def job_record(core: SchedulerCore, status: JobStatus) -> JobRecord:
    """The store record of a job."""
    return JobRecord(
        key=status.key,
        job=status.job,
        enqueue_time_utc_ms=core.utc_ms(status.enqueue_elapsed),
        num_failures=status.num_failures,
        num_system_stops=status.num_system_stops,
        cumulative_runtime_ms=status.cumulative_runtime_ms,
        internal_flags=status.internal_flags,
        earliest_run_time_utc_ms=(
            None
            if status.earliest_run_elapsed is None
            else core.utc_ms(status.earliest_run_elapsed)
        ),
        last_stop_reason=status.last_stop_reason,
        last_internal_stop_reason=status.last_internal_stop_reason,
        last_successful_run_utc_ms=status.last_successful_run_utc_ms,
        last_failed_run_utc_ms=status.last_failed_run_utc_ms,
        history=[{"time": h.utc_ms, "state": h.state, "reason": h.reason} for h in status.history],
        work_items=[w.to_dict() for w in status.work],
        extra={GENERATION_KEY: status.generation},
    )


def restored_earliest(core: SchedulerCore, record: JobRecord) -> int | None:
    """The elapsed time before which a loaded job may not run, from its stored wall-clock time.

    A time already past gives ``None`` (the job may run at once). A job's earliest run time
    comes from its minimum latency or a backoff, so a stored time further ahead than the longer of
    the two (the wall clock was set back while the daemon was down, or the file was edited) is
    capped at it.
    """
    stored = record.earliest_run_time_utc_ms
    if stored is None:
        return None
    remaining = stored - core.utc_ms()
    if remaining <= 0:
        return None
    longest = max(core.settings.max_backoff_ms, record.job.min_latency_millis)
    return core.now() + min(remaining, longest)
