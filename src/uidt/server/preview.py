"""A ``schedule()``'s admission, and the record it would store, worked out before the core
takes the job in.

The daemon stores a scheduled job *before* handing it to the core
(:func:`uidt.daemon.scheduling.schedule_durably`), so that a job whose write fails is never in
the core: it does not run, is not listed, and does not replace the job of the same id it was
meant to replace. This module works out that record
from the core's state without changing any job: the same admission checks as
:meth:`JobSchedulerService.schedule`, the same fields it would persist, and the generation the
scheduling will carry (reserved here, so the stored record and the core agree).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from uidt.errors import JobLimitError
from uidt.job.info import JobInfo
from uidt.job.key import JobKey
from uidt.job.namespace import validate_namespace
from uidt.job.work import JobWorkItem
from uidt.server import admission
from uidt.server.apps import Caller
from uidt.server.records import job_record
from uidt.server.status import DEMOTION_FLAGS, HistoryEntry, JobStatus
from uidt.store.record import JobRecord

if TYPE_CHECKING:
    from uidt.server.core import SchedulerCore


def may_schedule_uij(core: SchedulerCore, caller: Caller) -> bool:
    """The app is in a state to schedule user-initiated jobs (docs/android-semantics.md#admission)."""
    return (
        caller.visible
        or caller.interaction_grant
        or core.registry.may_start_from_background(caller.app)
        or core.registry.has_bal_privilege(caller.app, core.now())
    )


def admit(
    core: SchedulerCore,
    caller: Caller,
    namespace: str | None,
    job: JobInfo,
    work: JobWorkItem | None = None,
) -> JobKey | None:
    """``schedule``'s admission checks, changing no job: the job's key, or ``None`` where
    ``schedule`` answers ``RESULT_FAILURE`` (docs/android-semantics.md#admission).

    Raises:
        InvalidJobError: invalid job, work item, namespace or service.
        JobPermissionError: RUN_USER_INITIATED_JOBS not declared for a user-initiated job.
        JobLimitError: the app already has more than ``max_jobs_per_app`` jobs.
    """
    app = admission.enforce_valid_job_request(core.registry.get(caller.app), caller.app, job)
    if caller.visible or caller.interaction_grant:
        # visible now, or a click grant: a transient background-start privilege
        core.registry.note_user_interaction(caller.app, core.now())
    if not admission.validate_job(app, job, work):
        return None
    if job.is_user_initiated() and not may_schedule_uij(core, caller):
        return None
    key = JobKey(caller.app, validate_namespace(namespace), job.job_id)
    existing = core.jobs.get(key)
    if existing is not None and work is not None and existing.job == job:
        return key  # enqueue into the same job: no new job
    count = len(core.app_jobs.get(caller.app, {})) - (1 if existing else 0)
    if count > core.settings.max_jobs_per_app:
        raise JobLimitError(
            f"Apps may not schedule more than {core.settings.max_jobs_per_app} distinct jobs"
        )
    return key


def scheduled_record(
    core: SchedulerCore,
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
    key = admit(core, caller, namespace, job, work)
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
        generation=core.generations.reserve(),
    )
    if job.min_latency_millis > 0:
        status.earliest_run_elapsed = now + job.min_latency_millis
    status.history.append(HistoryEntry(now, core.utc_ms(now), "scheduled", "schedule"))
    return job_record(core, status)
