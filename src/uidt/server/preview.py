"""The record a ``schedule()`` would store, worked out before the core takes the job in.

The daemon stores a scheduled job *before* handing it to the core (``Runtime.schedule_durably``),
so that a job whose write fails is never in the core: it does not run, is not listed, and does
not replace the job of the same id it was meant to replace. This module works out that record
from the core's state without changing any job: the same admission checks as
:meth:`JobSchedulerService.schedule`, the same fields it would persist, and the generation the
scheduling will carry (reserved here, so the stored record and the core agree).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from uidt.job.info import JobInfo
from uidt.job.work import JobWorkItem
from uidt.server.apps import Caller
from uidt.server.records import job_record
from uidt.server.status import DEMOTION_FLAGS, HistoryEntry, JobStatus
from uidt.store.record import JobRecord

if TYPE_CHECKING:
    from uidt.server.service import JobSchedulerService


def scheduled_record(
    core: JobSchedulerService,
    caller: Caller,
    namespace: str | None,
    job: JobInfo,
    work: JobWorkItem | None = None,
) -> JobRecord | None:
    """The record ``core.schedule(...)`` would persist, or ``None`` where it would refuse.

    A new scheduling gets a reserved generation (read it back with
    :func:`uidt.server.identity.stored_generation`) to hand to the ``Schedule`` event.

    Raises:
        InvalidJobError, JobPermissionError, JobLimitError: as ``schedule`` would.
    """
    key = core.admit(caller, namespace, job, work)
    if key is None:
        return None
    existing = core.jobs.get(key)
    if existing is not None and work is not None and existing.job == job:
        record = job_record(core, existing)  # enqueue: the same job with one more work item
        flags = record.internal_flags
        if job.is_user_initiated():
            flags &= ~DEMOTION_FLAGS
        return dataclasses.replace(
            record, work_items=[*record.work_items, work.to_dict()], internal_flags=flags
        )
    now = core.now()
    status = JobStatus(
        key=key,
        job=job,
        enqueue_elapsed=now,
        work=[*(existing.work if existing is not None else ()), *([work] if work else [])],
        generation=core.reserve_generation(),
    )
    if job.min_latency_millis > 0:
        status.earliest_run_elapsed = now + job.min_latency_millis
    status.history.append(HistoryEntry(now, core.utc_ms(now), "scheduled", "schedule"))
    return job_record(core, status)
