"""The store record of a job (what ``PersistJob`` carries)."""

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
