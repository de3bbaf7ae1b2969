"""``schedule()`` made atomic for the app: the job is stored first, and only then taken in.

A status never lies: an app told its ``schedule()`` failed (a ``store`` error: the disk is full,
the database cannot be reached) must not find the job run, listed, or replacing its earlier job
of the same id. So the daemon commits the job's record (worked out by
:func:`uidt.server.preview.scheduled_record`, the same the core would write, with the
generation reserved) *before* the core sees the job, waiting for that one write
(:meth:`StoreWriter.write_job`: its own error, not another queued write's). If it fails, the
error goes back to the app and the core is as it was. If it succeeds, the core takes the job in
and may start it at once; the core writes the job again as usual (a slot the writer coalesces).

Between the commit and the core's turn the loop may have run other events: should the core
then refuse the schedule after all (an app that just stopped being visible, say), the store is
put back to what the core holds, so the stored jobs and the core agree again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uidt.job.info import JobInfo
from uidt.job.work import JobWorkItem
from uidt.server import events as ev
from uidt.server.apps import Caller
from uidt.server.identity import stored_generation
from uidt.server.preview import scheduled_record
from uidt.server.records import job_record
from uidt.server.service import RESULT_FAILURE, RESULT_SUCCESS
from uidt.timing import mark

if TYPE_CHECKING:
    from uidt.daemon.runtime import Runtime


def caller_of(
    rt: Runtime, app: str, peer_pid: int | None, *, interaction_grant: bool = False
) -> Caller:
    """Who schedules: ``app`` (installed), visible while ``peer_pid`` is in the foreground of
    its terminal, with a click grant if it has one."""
    rt.apps.require(app)
    # a caller in the foreground of its terminal keeps the app visible while it lives (its
    # AppVisible is applied and flushed), not for good: an app must not stay TOP after the
    # command that scheduled has gone
    visible = rt.visibility.note_request(app, peer_pid)
    grant = interaction_grant or rt.visibility.has_grant(app)
    return Caller(app=app, visible=visible, interaction_grant=grant)


async def schedule_durably(
    rt: Runtime,
    app: str,
    namespace: str | None,
    job: JobInfo,
    work: JobWorkItem | None,
    *,
    peer_pid: int | None,
) -> int:
    """Store the scheduled job, then hand it to the core; ``schedule``'s result.

    Raises:
        StoreError: the job's write failed; nothing changed in the core.
        InvalidJobError, JobPermissionError, JobLimitError: as ``schedule`` (nothing written).
    """
    mark("daemon.schedule")
    caller = caller_of(rt, app, peer_pid)
    record = scheduled_record(rt.service, caller, namespace, job, work)
    if record is None:  # the core answers RESULT_FAILURE: nothing to store
        return rt.apply(ev.Schedule(caller, namespace, job, work))
    await rt.store.write_job(record)
    generation = stored_generation(record)
    result = RESULT_FAILURE
    try:
        result = rt.apply(ev.Schedule(caller, namespace, job, work, generation))
    finally:  # also when the core raised (the app was removed during the commit, say)
        status = rt.service.jobs.get(record.key)
        if result != RESULT_SUCCESS or status is None or status.generation != generation:
            if status is None:
                rt.store.remove_job(record.key)
            else:
                rt.store.put_job(job_record(rt.service, status))
    if result == RESULT_SUCCESS and rt.fleet_offers is not None:
        rt.fleet_offers.soon([record.key])  # not startable here now: offered to other hosts
    return result
